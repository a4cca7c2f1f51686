import type { Context } from "hono";
import { TransientError } from "../core/errors.ts";
import { problemResponse } from "./problems.ts";

/**
 * The token of `Authorization: Bearer <token>` (the scheme in any case), or undefined without one.
 * Hand-parsed rather than Hono's `bearerAuth`: that one answers 400 to a token outside base64url's
 * characters (an operator's `INGEST_TOKENS` may hold any) and names no realm on a wrong token.
 */
export function bearerToken(c: Context): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
}

/** 401 with the challenge of `realm`: no token, or not a valid one. */
export function unauthorized(c: Context, realm: string, detail: string): Response {
  return problemResponse(c, "unauthorized", detail, {}, { "www-authenticate": `Bearer realm="${realm}"` });
}

/** 503 + `Retry-After` when the store a token is checked against cannot be read: the caller retries. */
export function checkUnavailable(c: Context, error: unknown, store: string): Response {
  const detail = error instanceof TransientError ? error.message : `the ${store} is unavailable`;
  return problemResponse(c, "unavailable", detail);
}
