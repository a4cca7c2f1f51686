import type { MiddlewareHandler } from "hono";
import { bearerToken, unauthorized } from "./bearer.ts";
import { TokenSet } from "./token-set.ts";

/**
 * Requires `Authorization: Bearer <token>` matching one of `tokens`. Every token is compared, in
 * constant time, so neither the answer time nor the order of tokens tells anything about a guess.
 */
export function bearerAuth(tokens: readonly string[]): MiddlewareHandler {
  if (tokens.length === 0) throw new Error("bearerAuth needs at least one token");
  const valid = new TokenSet(tokens);
  return async (c, next) => {
    const presented = bearerToken(c);
    if (presented && valid.has(presented)) return next();
    const detail = presented
      ? "the bearer token is not valid"
      : "an 'Authorization: Bearer <token>' header is required";
    return unauthorized(c, "bridge", detail);
  };
}
