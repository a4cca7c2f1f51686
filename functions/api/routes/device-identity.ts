import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { describeRoute } from "hono-openapi";
import {
  type BrokerCutOff,
  type DeviceAdminDeps,
  enableDevice,
  revokeDevice,
  rotateDeviceCredentials,
  unconfiguredBrokerSessions,
} from "../../core/broker-access/index.ts";
import { CredentialsRequest, DevicePatchRequest, SnParams } from "../../core/schemas/api.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { jsonObjectBody } from "../../http/json-body.ts";
import { problemResponse, tooLarge } from "../../http/problems.ts";
import { validate } from "../../http/validate.ts";
import { jsonContent, problems } from "../route-kit.ts";
import { CredentialsAnswer, DevicePatchAnswer } from "../schemas.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";
import { publicCutOff, publicIdentity } from "../views.ts";

/** Both bodies are a key or two; anything much larger is not one of them. */
const MAX_IDENTITY_BODY_BYTES = 1024;

const smallBody = () =>
  bodyLimit({ maxSize: MAX_IDENTITY_BODY_BYTES, onError: (c) => tooLarge(c, MAX_IDENTITY_BODY_BYTES) });

/**
 * Per-device identity, scope `admin`, added to the devices' sub-app: re-key a device
 * (`POST /v1/devices/{sn}/credentials`) and revoke or re-enable it (`PATCH /v1/devices/{sn}`). The registry
 * is written first; EMQX is asked afterwards to end the device's session and forget cached answers, and
 * when it cannot be, the answer says so (200 with `kicked: false` and a `warning`), because the stored
 * change must not look like a failure to retry blindly.
 */
export function addDeviceIdentityRoutes(app: Hono<ApiEnv>, deps: ApiDeps, options: ApiOptions) {
  const adminDeps: DeviceAdminDeps = {
    devices: deps.devices,
    sessions: deps.sessions ?? unconfiguredBrokerSessions,
    clock: deps.clock,
  };
  rekeyDevice(app, deps, adminDeps, options);
  patchDevice(app, deps, adminDeps, options);
}

function rekeyDevice(app: Hono<ApiEnv>, deps: ApiDeps, adminDeps: DeviceAdminDeps, options: ApiOptions) {
  app.post(
    "/:sn/credentials",
    requireScope(deps.keys, "admin"),
    validate("param", SnParams),
    smallBody(),
    jsonObjectBody({ optional: true }),
    validate("json", CredentialsRequest),
    // After the body's validator, which documents every body as required.
    describeCredentials(),
    async (c) => {
      const { sn } = c.req.valid("param");
      const { kick = true } = c.req.valid("json");
      const secret = deps.deviceTokenSecrets?.[0];
      if (!secret) return noTokenSecret(c, options);
      const rotated = await rotateDeviceCredentials(adminDeps, secret, sn, { kick });
      audit(c, options, "device re-keyed", sn, rotated.broker, { generation: rotated.identity.generation });
      const device = { sn, ...publicIdentity(rotated.identity) };
      const answer = { sn, generation: rotated.identity.generation, token: rotated.token, device };
      // The token is shown once: nothing may cache this answer.
      c.header("cache-control", "no-store");
      return c.json({ ...answer, ...publicCutOff(rotated.broker) }, 200);
    },
  );
}

function patchDevice(app: Hono<ApiEnv>, deps: ApiDeps, adminDeps: DeviceAdminDeps, options: ApiOptions) {
  app.patch(
    "/:sn",
    describePatch(),
    requireScope(deps.keys, "admin"),
    validate("param", SnParams),
    smallBody(),
    jsonObjectBody(),
    validate("json", DevicePatchRequest),
    async (c) => {
      const { sn } = c.req.valid("param");
      if (c.req.valid("json").enabled) {
        const { identity } = await enableDevice(adminDeps, sn);
        audit(c, options, "device enabled", sn, undefined, {});
        return c.json({ device: { sn, ...publicIdentity(identity) } }, 200);
      }
      const { identity, broker } = await revokeDevice(adminDeps, sn);
      audit(c, options, "device revoked", sn, broker, {});
      return c.json({ device: { sn, ...publicIdentity(identity) }, ...publicCutOff(broker) }, 200);
    },
  );
}

function noTokenSecret(c: Context<ApiEnv>, options: ApiOptions): Response {
  options.logger.error("cannot re-key a device: the API has no DEVICE_TOKEN_SECRETS");
  const detail = "device tokens are not configured for the API (DEVICE_TOKEN_SECRETS); nothing was changed";
  return problemResponse(c, "not_configured", detail);
}

/** Who changed which device, and whether EMQX followed; never the token. */
function audit(
  c: Context<ApiEnv>,
  options: ApiOptions,
  message: string,
  sn: string,
  broker: BrokerCutOff | undefined,
  extra: Record<string, unknown>,
): void {
  const entry = { key: c.get("apiKey")?.name, sn, ...extra, ...(broker ? publicCutOff(broker) : {}) };
  if (broker?.warning) options.logger.warn(`${message}; EMQX did not confirm`, entry);
  else options.logger.info(message, entry);
}

function describeCredentials() {
  return describeRoute({
    tags: ["device identity"],
    summary: "Re-key a device: its next token generation, shown once",
    description:
      "Moves the device to its next credential generation (registering it when it has none) and answers the " +
      "new token, derived from the first DEVICE_TOKEN_SECRETS; it is not stored and cannot be shown again. " +
      "Every older token is refused from the next login on (HTTP devices within 30 s). EMQX's caches are " +
      'cleared and, unless the body says {"kick": false}, the live MQTT session is ended. When EMQX cannot ' +
      "be reached the new generation is kept anyway: kicked is false and warning says what is pending.",
    requestBody: { required: false, content: {} },
    responses: {
      "200": { description: "The new token, once", content: jsonContent(CredentialsAnswer) },
      ...problems(400, 413, 415, 422),
    },
  });
}

function describePatch() {
  return describeRoute({
    tags: ["device identity"],
    summary: "Revoke or re-enable a device",
    description:
      "{\"enabled\": false} refuses the device's next login (HTTP devices within 30 s), clears EMQX's caches " +
      "and ends its live MQTT session; a device without an entry gets a disabled one, so it cannot register " +
      'itself. {"enabled": true} lets it log in again, or registers it (generation 0) when it has no entry. ' +
      "When EMQX cannot be reached the change is kept anyway: kicked is false and warning says what is pending.",
    responses: {
      "200": {
        description: "The device's identity after the change",
        content: jsonContent(DevicePatchAnswer),
      },
      ...problems(400, 413, 415, 422),
    },
  });
}
