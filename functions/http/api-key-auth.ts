import type { Context, MiddlewareHandler, Next } from "hono";
import { type ApiKey, type ApiKeyStore, allows, hashApiKey, type Scope } from "../core/api-keys.ts";
import { bearerToken, checkUnavailable, unauthorized } from "./bearer.ts";
import { problemResponse } from "./problems.ts";

export type ApiKeyVariables = { apiKey: ApiKey };

const REALM = "bridge-api";

/**
 * The key a request was already authenticated with elsewhere: the API over MQTT (functions/api/mqtt-requests)
 * runs an app's request with the key its broker login proved. Bindings come from the runtime (Lambda's
 * event, Node's sockets) and the API's own calls, never from a caller's headers.
 */
export type ApiKeyBindings = { appKey?: ApiKey };

/**
 * Requires `Authorization: Bearer <api key>` with `scope` (or `admin`): 401 for no or an unknown key,
 * 403 for a key without the scope, 503 when the key store cannot be read. Keys are looked up by their
 * SHA-256, so the stored form never equals what a client sends.
 */
export function requireScope<E extends { Variables: ApiKeyVariables }>(
  keys: ApiKeyStore,
  scope: Scope | readonly Scope[],
): MiddlewareHandler<E> {
  const accepted: readonly Scope[] = typeof scope === "string" ? [scope] : scope;
  return async (c, next) => {
    const preset = (c.env as ApiKeyBindings | undefined)?.appKey;
    if (preset) return allowedOrForbidden(c, preset, accepted, next);
    const presented = bearerToken(c);
    if (!presented) return unauthorized(c, REALM, "an 'Authorization: Bearer <api key>' header is required");
    let key: ApiKey | undefined;
    try {
      key = await keys.find(hashApiKey(presented));
    } catch (error) {
      return checkUnavailable(c, error, "key store");
    }
    if (!key) return unauthorized(c, REALM, "the API key is not valid");
    return allowedOrForbidden(c, key, accepted, next);
  };
}

async function allowedOrForbidden(c: Context, key: ApiKey, accepted: readonly Scope[], next: Next) {
  if (!accepted.some((needed) => allows(key, needed))) {
    const needs = accepted.map((name) => `'${name}'`).join(" or ");
    const has = key.scopes.length > 0 ? key.scopes.join(", ") : "no scope";
    const detail = `this route needs the ${needs} scope; key '${key.name}' has ${has}`;
    return problemResponse(c, "forbidden", detail);
  }
  c.set("apiKey", key);
  return next();
}
