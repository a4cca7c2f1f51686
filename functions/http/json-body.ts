import type { MiddlewareHandler } from "hono";
import { InvalidInputError } from "../core/errors.ts";
import { parseJson } from "../core/validation.ts";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * What a JSON body must be before its schema is asked (`validate("json", …)` runs next): a JSON object,
 * else a 400 naming `body` (not JSON, nested deeper than the parser allows, an array, null, a number), and
 * sent as JSON, else a 415 naming `content-type` (the validator would read any other body as `{}`).
 * `optional`: an empty body stands for `{}`.
 */
export function jsonObjectBody({ optional = false } = {}): MiddlewareHandler {
  return async (c, next) => {
    const raw = await c.req.text();
    if (optional && raw.trim() === "") {
      // The validator parses the text Hono cached (a promise, though typed as a string): an absent body
      // must read as `{}`, not as the empty text JSON.parse refuses.
      Object.assign(c.req.bodyCache, { text: Promise.resolve("{}") });
      return next();
    }
    const body = parseJson(raw, "body");
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      throw new InvalidInputError("malformed", "body", "body must be a JSON object");
    }
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new InvalidInputError(
        "unsupported_media_type",
        "content-type",
        "content-type: a JSON body needs application/json",
      );
    }
    return next();
  };
}
