import * as v from "valibot";
import { type InputErrorKind, InvalidInputError } from "./errors.ts";

/**
 * Deepest JSON the bridge parses. Well above what DynamoDB stores (32 levels, see `schemas/storable.ts`),
 * so a record nested a little too deep is refused on its own; far below what overflows the stack in
 * `JSON.stringify` (a few thousand levels), so nothing downstream ever sees such a value.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses `input` with `schema`, or throws an {@link InvalidInputError} naming the first offending field.
 *
 * @example
 * parseOrReject(StatusPayload, body, "payload") // throws `invalid` "payload.online: online must be true or false"
 */
export function parseOrReject<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  prefix: string,
  kind: InputErrorKind = "invalid",
): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = fieldPath(prefix, issue);
  throw new InvalidInputError(kind, field, `${field}: ${issueMessage(issue)}`);
}

/** The schema's own message, except for a missing key, where valibot's wording is obscure. */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === "schema" && issue.received === "undefined" && issue.path?.at(-1)?.type === "object") {
    return "is required";
  }
  return issue.message;
}

/** The dotted field an issue is about; a whole request body (`1`, `null`) is `body`, never "". */
export function fieldPath(prefix: string, issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue);
  if (!path) return prefix || "body";
  return prefix ? `${prefix}.${path}` : path;
}

/**
 * `JSON.parse` that reports a clear `malformed` error naming `field` instead of a SyntaxError, and refuses text nested
 * deeper than {@link MAX_JSON_DEPTH} before parsing it.
 */
export function parseJson(text: string, field: string): unknown {
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new InvalidInputError(
      "malformed",
      field,
      `${field} is nested deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidInputError("malformed", field, `${field} is not valid JSON`);
  }
}

/** The deepest nesting of `[` and `{` in JSON text, outside strings; one pass, no recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // backslash: the next character is escaped
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (code === 0x5d || code === 0x7d) depth--;
  }
  return deepest;
}
