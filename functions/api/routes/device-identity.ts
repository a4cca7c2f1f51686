import type { Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type * as v from "valibot";
import {
  type BrokerCutOff,
  type DeviceAdminDeps,
  enableDevice,
  revokeDevice,
  rotateDeviceCredentials,
  unconfiguredBrokerSessions,
} from "../../core/broker-access/index.ts";
import { InvalidInputError } from "../../core/errors.ts";
import { parseJson, parseOrReject } from "../../core/validation.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { problem, problemResponse } from "../../http/problems.ts";
import { guard, jsonContent, param, parseSn, problems } from "../route-kit.ts";
import { CredentialsAnswer, CredentialsRequest, DevicePatchAnswer, DevicePatchRequest } from "../schemas.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";
import { publicCutOff, publicIdentity } from "../views.ts";

/** Both bodies are a key or two; anything much larger is not one of them. */
const MAX_IDENTITY_BODY_BYTES = 1024;

const snParam = param("sn", "path", "device serial number");

/**
 * Per-device identity, scope `admin`: re-key a device (`POST /v1/devices/{sn}/credentials`) and revoke or
 * re-enable it (`PATCH /v1/devices/{sn}`). The registry is written first; EMQX is asked afterwards to end
 * the device's session and forget cached answers, and when it cannot be, the answer says so (200 with
 * `kicked: false` and a `warning`), because the stored change must not look like a failure to retry blindly.
 */
export function registerDeviceIdentityRoutes(app: Hono<ApiEnv>, deps: ApiDeps, options: ApiOptions) {
  const guarded = guard(options);
  const admin = requireScope(deps.keys, "admin");
  const adminDeps: DeviceAdminDeps = {
    devices: deps.devices,
    sessions: deps.sessions ?? unconfiguredBrokerSessions,
    clock: deps.clock,
  };

  app.post("/v1/devices/:sn/credentials", describeCredentials(), admin, (c) =>
    guarded(c, async () => {
      const sn = parseSn(c.req.param("sn"));
      const body = await readBody(c, CredentialsRequest, { optional: true });
      const secret = deps.deviceTokenSecrets?.[0];
      if (!secret) return noTokenSecret(c, options);
      const rotated = await rotateDeviceCredentials(adminDeps, secret, sn, { kick: body.kick ?? true });
      audit(c, options, "device re-keyed", sn, rotated.broker, { generation: rotated.identity.generation });
      const device = { sn, ...publicIdentity(rotated.identity) };
      const answer = { sn, generation: rotated.identity.generation, token: rotated.token, device };
      // The token is shown once: nothing may cache this answer.
      c.header("cache-control", "no-store");
      return c.json({ ...answer, ...publicCutOff(rotated.broker) }, 200);
    }),
  );

  app.patch("/v1/devices/:sn", describePatch(), admin, (c) =>
    guarded(c, async () => {
      const sn = parseSn(c.req.param("sn"));
      const { enabled } = await readBody(c, DevicePatchRequest, { optional: false });
      if (enabled) {
        const { identity } = await enableDevice(adminDeps, sn);
        audit(c, options, "device enabled", sn, undefined, {});
        return c.json({ device: { sn, ...publicIdentity(identity) } }, 200);
      }
      const { identity, broker } = await revokeDevice(adminDeps, sn);
      audit(c, options, "device revoked", sn, broker, {});
      return c.json({ device: { sn, ...publicIdentity(identity) }, ...publicCutOff(broker) }, 200);
    }),
  );
}

/** 413 when too large, 400 `body` when not a JSON object, 422 naming the field otherwise. */
async function readBody<S extends v.GenericSchema>(
  c: Context<ApiEnv>,
  schema: S,
  { optional }: { optional: boolean },
): Promise<v.InferOutput<S>> {
  const raw = await c.req.text();
  const bytes = Buffer.byteLength(raw);
  if (bytes > MAX_IDENTITY_BODY_BYTES) {
    throw new InvalidInputError(
      413,
      "body",
      `body is ${bytes} bytes, more than the ${MAX_IDENTITY_BODY_BYTES} allowed`,
    );
  }
  if (optional && raw.trim() === "") return parseOrReject(schema, {}, "");
  const json = parseJson(raw, "body");
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    throw new InvalidInputError(400, "body", "body must be a JSON object");
  }
  return parseOrReject(schema, json, "", 422);
}

function noTokenSecret(c: Context<ApiEnv>, options: ApiOptions): Response {
  options.logger.error("cannot re-key a device: the API has no DEVICE_TOKEN_SECRETS");
  const detail = "device tokens are not configured for the API (DEVICE_TOKEN_SECRETS); nothing was changed";
  return problemResponse(c, problem(503, "not_configured", detail), { "retry-after": "60" });
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
    parameters: [snParam],
    requestBody: { required: false, content: jsonContent(CredentialsRequest) },
    responses: {
      "200": { description: "The new token, once", content: jsonContent(CredentialsAnswer) },
      ...problems(400, 413, 422),
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
    parameters: [snParam],
    requestBody: { required: true, content: jsonContent(DevicePatchRequest) },
    responses: {
      "200": {
        description: "The device's identity after the change",
        content: jsonContent(DevicePatchAnswer),
      },
      ...problems(400, 413, 422),
    },
  });
}
