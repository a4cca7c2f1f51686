import type { MiddlewareHandler } from "hono";

/**
 * Runs `middleware` for every path except those under `prefix` (`/v1/devices/`), which authenticate in
 * their own way. hono/combine's `except` does the same with a router match and a `compose` of its
 * middleware on every request: ~80 µs of a punch's CPU in the ingest's profile, for one prefix test.
 * A path is compared after URL parsing, so `..` segments are already resolved and an encoded `/` does
 * not match: such a request gets `middleware`.
 *
 * @example
 * app.use("*", exceptUnder("/v1/devices/", bearerAuth(tokens)));
 */
export function exceptUnder(prefix: string, middleware: MiddlewareHandler): MiddlewareHandler {
  if (!prefix.endsWith("/")) throw new Error(`exceptUnder takes a folder ending in '/': ${prefix}`);
  return (c, next) => (c.req.path.startsWith(prefix) ? next() : middleware(c, next));
}
