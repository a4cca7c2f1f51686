import type { MiddlewareHandler } from "hono";
import { bearerToken, checkUnavailable, unauthorized } from "./bearer.ts";

/** Whether `token` is the current credential of device `sn` (registry included); throws when it cannot tell. */
export type DeviceTokenCheck = (sn: string, token: string) => Promise<boolean>;

/**
 * Requires `Authorization: Bearer <device token>` valid for the `:sn` of the path: a token opens only its
 * own device's routes, and only while the device is enabled and the token's generation is current.
 * A missing or wrong token is 401; 503 when the registry cannot be read. The route must have an `:sn`
 * parameter, already validated.
 */
export function deviceAuth(check: DeviceTokenCheck): MiddlewareHandler {
  return async (c, next) => {
    const sn = c.req.param("sn") ?? "";
    const presented = bearerToken(c);
    let valid = false;
    try {
      valid = presented !== undefined && (await check(sn, presented));
    } catch (error) {
      return checkUnavailable(c, error, "device registry");
    }
    if (valid) return next();
    const detail = presented
      ? `the bearer token is not valid for device '${sn}'`
      : "an 'Authorization: Bearer <device token>' header is required";
    return unauthorized(c, "bridge-devices", detail);
  };
}
