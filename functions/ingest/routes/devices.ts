import type { Hono } from "hono";
import { deviceAuth } from "../../http/device-auth.ts";
import { problem, problemResponse } from "../../http/problems.ts";
import { processAndAnswer } from "../answer.ts";
import { ingestDeviceMessage } from "../device-message.ts";
import type { IngestDeps, IngestEnv, IngestOptions } from "../types.ts";

/** Everything under this pattern belongs to HTTP devices (and is closed to EMQX's tokens). */
export const DEVICE_PATHS = "/v1/devices/*";

/** The channels an HTTP device posts to; the body is the payload it would publish on `api/mqtt/v1/{sn}/{channel}`. */
export const HTTP_DEVICE_CHANNELS = ["evt", "st", "ack"] as const;

/**
 * `POST /v1/devices/{sn}/evt|st|ack` for devices that speak HTTP instead of MQTT. The body is exactly the
 * MQTT payload; it goes through the same code as a rule event (`ingestDeviceMessage`), so dedupe,
 * presence, quarantine, fan-out and command answers are the same. Each device authenticates with its own
 * derived token. Without secrets the routes answer 404.
 */
export function registerDeviceRoutes(app: Hono<IngestEnv>, deps: IngestDeps, options: IngestOptions): void {
  if (options.deviceTokenSecrets.length === 0) {
    app.all(DEVICE_PATHS, (c) =>
      problemResponse(c, problem(404, "http_devices_disabled", "HTTP devices are not enabled")),
    );
    return;
  }
  app.use("/v1/devices/:sn/*", deviceAuth(options.deviceTokenSecrets));
  for (const channel of HTTP_DEVICE_CHANNELS) {
    app.post(`/v1/devices/:sn/${channel}`, async (c) => {
      const receivedAt = deps.clock.now().getTime();
      const sn = c.req.param("sn"); // validated by deviceAuth, which also checked the token is this sn's
      const raw = await c.req.text();
      return processAndAnswer(c, deps, options, {
        transport: "http",
        raw,
        ids: { sn },
        process: () =>
          ingestDeviceMessage(deps, {
            sn,
            channel,
            payload: raw,
            transport: "http",
            receivedAt,
          }),
      });
    });
  }
}
