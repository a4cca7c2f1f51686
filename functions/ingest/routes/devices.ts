import type { Hono, MiddlewareHandler } from "hono";
import * as v from "valibot";
import { authenticateDevice, cachedDeviceRegistry } from "../../core/broker-access/index.ts";
import { withDeadline } from "../../core/deadline.ts";
import { SerialNumber } from "../../core/schemas/common.ts";
import { type DeviceTokenCheck, deviceAuth } from "../../http/device-auth.ts";
import { problemResponse } from "../../http/problems.ts";
import { processAndAnswer } from "../answer.ts";
import { brokerAccessDeps, brokerAccessOptions } from "../broker-access.ts";
import { ingestDeviceMessage } from "../device-message.ts";
import { readBody } from "../read-body.ts";
import type { IngestDeps, IngestEnv, IngestOptions } from "../types.ts";
import { registerDeviceCommandRoute } from "./device-commands.ts";
import { registerDeviceShadowRoutes } from "./shadow.ts";

/** Everything under this folder belongs to HTTP devices, who authenticate with their own tokens. */
export const DEVICE_FOLDER = "/v1/devices/";
const DEVICE_PATHS = `${DEVICE_FOLDER}*`;

/** The channels an HTTP device posts to; the body is the payload it would publish on `api/mqtt/v1/{sn}/{channel}`. */
export const HTTP_DEVICE_CHANNELS = ["evt", "st", "ack"] as const;

/**
 * `POST /v1/devices/{sn}/evt|st|ack` for devices that speak HTTP instead of MQTT. The body is exactly the
 * MQTT payload; it goes through the same code as a rule event (`ingestDeviceMessage`), so dedupe,
 * presence, quarantine, fan-out and command answers are the same. Each device authenticates with its own
 * derived token. Without secrets the routes answer 404. `GET /v1/devices/{sn}/commands/next` hands
 * them their commands (see `device-commands.ts`).
 */
export function registerDeviceRoutes(app: Hono<IngestEnv>, deps: IngestDeps, options: IngestOptions): void {
  if (options.deviceTokenSecrets.length === 0) {
    app.all(DEVICE_PATHS, (c) => problemResponse(c, "devices_disabled", "HTTP devices are not enabled"));
    return;
  }
  app.use("/v1/devices/:sn/*", rejectBadSerialNumber(options));
  app.use("/v1/devices/:sn/*", deviceAuth(httpDeviceCheck(deps, options)));
  for (const channel of HTTP_DEVICE_CHANNELS) {
    app.post(`/v1/devices/:sn/${channel}`, async (c) => {
      const receivedAt = deps.clock.now().getTime();
      const sn = c.req.param("sn"); // validated above; deviceAuth checked the token is this sn's
      const body = await readBody(c.req.raw, options.maxBodyBytes);
      return processAndAnswer(c, deps, options, {
        transport: "http",
        body,
        ids: () => ({ sn }),
        process: () =>
          ingestDeviceMessage(deps, {
            sn,
            channel,
            payload: body.text,
            transport: "http",
            receivedAt,
          }),
      });
    });
  }
  registerDeviceCommandRoute(app, deps, options);
  registerDeviceShadowRoutes(app, deps, options);
}

/**
 * An HTTP device is checked exactly like an MQTT login (same token, same registry, same first-login
 * registration), with its registry entry cached so a punch does not cost a read.
 */
function httpDeviceCheck(deps: IngestDeps, options: IngestOptions): DeviceTokenCheck {
  const access = {
    ...brokerAccessDeps(deps, options),
    devices: cachedDeviceRegistry(deps.devices, deps.clock),
  };
  const accessOptions = brokerAccessOptions(options);
  return async (sn, token) => {
    const login = { clientid: sn, username: sn, password: token };
    // Bounded like the work itself, so a slow registry is a 503 within the deadline, not at Lambda's timeout.
    const decision = await withDeadline(
      () => authenticateDevice(access, accessOptions, login),
      options.deadlineMs,
    );
    return decision.result === "allow";
  };
}

/**
 * A path whose serial number is malformed: 400 naming `sn`, before the token is looked at (no token can be
 * valid for such an sn). Nothing is stored: nobody authenticated, so a quarantine entry would let anyone
 * write to the table. The warning (the sn cut short, no body) is what an operator sees of it.
 */
function rejectBadSerialNumber(options: IngestOptions): MiddlewareHandler<IngestEnv> {
  return async (c, next) => {
    const sn = c.req.param("sn") ?? "";
    if (v.safeParse(SerialNumber, sn).success) return next();
    const shown = sn.slice(0, 80);
    options.logger.warn("refused: malformed serial number in a device path", { sn: shown, field: "sn" });
    return problemResponse(
      c,
      "malformed",
      `sn: must be 1-64 characters of A-Z, a-z, 0-9, _ or - (got '${shown}')`,
      { field: "sn" },
    );
  };
}
