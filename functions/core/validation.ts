import * as v from "valibot";
import { InvalidInputError } from "./errors.ts";

/**
 * Parses `input` with `schema`, or throws an {@link InvalidInputError} naming the first offending field.
 *
 * @example
 * parseOrReject(StatusPayload, body, "payload") // throws 422 "payload.online: online must be true or false"
 */
export function parseOrReject<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  prefix: string,
  status: 400 | 422 = 422,
): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = fieldPath(prefix, issue);
  throw new InvalidInputError(status, field, `${field}: ${issueMessage(issue)}`);
}

/** The schema's own message, except for a missing key, where valibot's wording is obscure. */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === "schema" && issue.received === "undefined" && issue.path?.at(-1)?.type === "object") {
    return "is required";
  }
  return issue.message;
}

export function fieldPath(prefix: string, issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue);
  if (!path) return prefix;
  return prefix ? `${prefix}.${path}` : path;
}

/** `JSON.parse` that reports a clear 400 naming `field` instead of a SyntaxError. */
export function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidInputError(400, field, `${field} is not valid JSON`);
  }
}
