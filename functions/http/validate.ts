import { validator } from "hono-openapi";
import type * as v from "valibot";
import { parseOrReject } from "../core/validation.ts";

/** Where a route's input comes from; a body is JSON (see `jsonObjectBody`, which runs before it). */
export type InputTarget = "param" | "query" | "json";

/**
 * Validates one input of a route with its valibot schema and documents it from the same schema (hono-openapi
 * turns it into the operation's parameters or request body). A failure throws an `InvalidInputError` naming
 * the first offending field, for the app's `onError` to answer: 400 for a path or query value (the request
 * itself is wrong), 422 for a field of a well-formed body. The handler reads the parsed value with
 * `c.req.valid(target)`.
 *
 * @example
 * app.get("/:sn", validate("param", SnParams), validate("query", PageQuery), (c) => {
 *   const { sn } = c.req.valid("param");
 * });
 */
export function validate<T extends InputTarget, S extends v.GenericSchema>(target: T, schema: S) {
  return validator(target, schema, (result) => {
    // Parsed again on failure only: the hook is given standard-schema issues, the field path wants valibot's.
    if (!result.success) parseOrReject(schema, result.data, "", target === "json" ? "invalid" : "malformed");
  });
}
