import type { Context, Hono } from "hono";
import {
  type BrokerCutOff,
  type DeviceAdminDeps,
  enableDevice,
  revokeDevice,
  rotateDeviceCredentials,
  unconfiguredBrokerSessions,
} from "../../core/broker-access/index.ts";
import { CredentialsRequest, DevicePatchRequest, SnParams } from "../../core/schemas/api.ts";
import { problemResponse } from "../../http/problems.ts";
import { type ApiRoutes, apiRoutes, type ResourceDefaults } from "../declare-route.ts";
import { CredentialsAnswer, DevicePatchAnswer } from "../schemas.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";
import { publicCutOff, publicIdentity } from "../views.ts";

/** Both bodies are a key or two; anything much larger is not one of them. */
const MAX_IDENTITY_BODY_BYTES = 1024;

const IDENTITY: ResourceDefaults = { tags: ["device identity"], scope: "admin" };
/** Both routes take the device from the path and a small JSON body. */
const DEVICE_BODY = { param: SnParams, maxBodyBytes: MAX_IDENTITY_BODY_BYTES };

const REKEY_DESCRIPTION =
  "Moves the device to its next credential generation (registering it when it has none) and answers the " +
  "new token, derived from the first DEVICE_TOKEN_SECRETS; it is not stored and cannot be shown again. " +
  "Every older token is refused from the next login on (HTTP devices within 30 s). EMQX's caches are " +
  'cleared and, unless the body says {"kick": false}, the live MQTT session is ended. When EMQX cannot ' +
  "be reached the new generation is kept anyway: kicked is false and warning says what is pending.";

const PATCH_DESCRIPTION =
  "{\"enabled\": false} refuses the device's next login (HTTP devices within 30 s), clears EMQX's caches " +
  "and ends its live MQTT session; a device without an entry gets a disabled one, so it cannot register " +
  'itself. {"enabled": true} lets it log in again, or registers it (generation 0) when it has no entry. ' +
  "When EMQX cannot be reached the change is kept anyway: kicked is false and warning says what is pending.";

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
  const routes = apiRoutes(deps.keys, IDENTITY, app);
  rekeyDevice(routes, deps, adminDeps, options);
  patchDevice(routes, adminDeps, options);
}

function rekeyDevice(routes: ApiRoutes, deps: ApiDeps, adminDeps: DeviceAdminDeps, options: ApiOptions) {
  const declaration = {
    summary: "Re-key a device: its next token generation, shown once",
    description: REKEY_DESCRIPTION,
    ok: ["The new token, once", CredentialsAnswer],
    ...DEVICE_BODY,
    json: CredentialsRequest,
    optionalBody: true,
  } as const;
  routes.post("/:sn/credentials", declaration, async (c) => {
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
  });
}

function patchDevice(routes: ApiRoutes, adminDeps: DeviceAdminDeps, options: ApiOptions) {
  const summary = "Revoke or re-enable a device";
  const ok = ["The device's identity after the change", DevicePatchAnswer] as const;
  const declaration = {
    summary,
    description: PATCH_DESCRIPTION,
    ok,
    ...DEVICE_BODY,
    json: DevicePatchRequest,
  };
  routes.patch("/:sn", declaration, async (c) => {
    const { sn } = c.req.valid("param");
    if (c.req.valid("json").enabled) {
      const { identity } = await enableDevice(adminDeps, sn);
      audit(c, options, "device enabled", sn, undefined, {});
      return c.json({ device: { sn, ...publicIdentity(identity) } }, 200);
    }
    const { identity, broker } = await revokeDevice(adminDeps, sn);
    audit(c, options, "device revoked", sn, broker, {});
    return c.json({ device: { sn, ...publicIdentity(identity) }, ...publicCutOff(broker) }, 200);
  });
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
