import type { MiddlewareHandler } from "hono";

/**
 * Runs `middleware` for every path except those under `prefix` (`/v1/devices/`), whose routes
 * authenticate in their own way. hono/combine's `except("/v1/devices/*")` did this with a router match
 * and a `compose` of its middleware on every request: ~80 µs of a punch's CPU in the ingest's profile.
 * Unlike it, the bare `/v1/devices` (no route there) now gets `middleware` too. The test is safe because
 * `c.req.path` is the very string Hono's router matches on: a path that skips `middleware` can only reach
 * routes under `prefix`. An encoded `/` in the first segment (`/v1/devices%2F…`) does not match.
 *
 * @example
 * app.use("*", exceptUnder("/v1/devices/", bearerAuth(tokens)));
 */
export function exceptUnder(prefix: string, middleware: MiddlewareHandler): MiddlewareHandler {
  if (!prefix.endsWith("/")) throw new Error(`exceptUnder takes a folder ending in '/': ${prefix}`);
  return (c, next) => (c.req.path.startsWith(prefix) ? next() : middleware(c, next));
}
