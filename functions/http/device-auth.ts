import type { MiddlewareHandler } from "hono";
import * as v from "valibot";
import { isDeviceToken, MIN_DEVICE_SECRET_LENGTH } from "../core/device-token.ts";
import { SerialNumber } from "../core/schemas/common.ts";
import { problem, problemResponse } from "./problems.ts";

/**
 * Requires `Authorization: Bearer <device token>` where the token is the one derived for the `:sn` of the
 * path (see `deriveDeviceToken`) under one of `secrets`. A token opens only its own device's routes.
 *
 * The route must have an `:sn` parameter. An invalid `sn` is answered 400 naming `sn` (before the token
 * is looked at: no token can be valid for it), a missing or wrong token 401.
 */
export function deviceAuth(secrets: readonly string[]): MiddlewareHandler {
  if (secrets.length === 0) throw new Error("deviceAuth needs at least one secret");
  if (secrets.some((secret) => secret.length < MIN_DEVICE_SECRET_LENGTH)) {
    throw new Error(`every device token secret must be at least ${MIN_DEVICE_SECRET_LENGTH} characters`);
  }
  return async (c, next) => {
    const sn = c.req.param("sn");
    if (!v.is(SerialNumber, sn)) {
      const detail = "sn: must be 1-64 characters of A-Z, a-z, 0-9, _ or -";
      return problemResponse(c, problem(400, "invalid_sn", detail, { field: "sn" }));
    }
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (presented && isDeviceToken(secrets, sn, presented)) return next();
    const detail = presented
      ? `the bearer token is not valid for device '${sn}'`
      : "an 'Authorization: Bearer <device token>' header is required";
    return problemResponse(c, problem(401, "unauthorized", detail), {
      "www-authenticate": 'Bearer realm="bridge-devices"',
    });
  };
}
