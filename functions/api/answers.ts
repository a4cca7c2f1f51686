import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "hono";
import { StoreRejectedError } from "../adapters/aws-errors.ts";
import { CommandConflictError } from "../core/commands/errors.ts";
import { InvalidInputError, TransientError } from "../core/errors.ts";
import { problem, problemResponse } from "../http/problems.ts";

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = "5";

const INVALID_INPUT_TYPES: Record<InvalidInputError["status"], string> = {
  400: "invalid_request",
  413: "body_too_large",
  415: "unsupported_media_type",
  422: "invalid_field",
};

/**
 * Turns any failure of a route into an RFC 9457 answer. Unknown errors become 503, never 500: a caller
 * retrying a create is safe (it is idempotent on `id`), while a 500 tells it nothing it can act on.
 *
 * @example
 * try { ... } catch (error) { return failureResponse(c, error, logger); }
 */
export function failureResponse(c: Context, error: unknown, log: Logger): Response {
  if (error instanceof InvalidInputError) {
    return problemResponse(
      c,
      problem(error.status, INVALID_INPUT_TYPES[error.status], error.message, { field: error.field }),
    );
  }
  if (error instanceof CommandConflictError) {
    // problems.ts has no title for 409, hence the explicit one.
    return problemResponse(
      c,
      problem(409, "command_conflict", error.message, { title: "Conflict", field: "id" }),
    );
  }
  if (error instanceof StoreRejectedError) {
    // The store refused something validation let through: the same request would be refused again, so a
    // 503 would be retried forever. The schemas should have caught it, hence an error in the log.
    log.error("the store refused a request that passed validation; answering 422", { error });
    return problemResponse(
      c,
      problem(422, "refused_by_store", "the request holds a value the store cannot keep", { field: "body" }),
    );
  }
  if (error instanceof TransientError) {
    log.warn("answering 503: a dependency is unavailable", { reason: error.message });
    return unavailable(c, error.message);
  }
  log.error("unexpected failure; answering 503", { error });
  return unavailable(c, "the request failed unexpectedly; retry later");
}

export function notFound(c: Context, detail: string): Response {
  return problemResponse(c, problem(404, "not_found", detail));
}

function unavailable(c: Context, detail: string): Response {
  return problemResponse(c, problem(503, "unavailable", detail), { "retry-after": RETRY_AFTER_SECONDS });
}

/** A body over the limit, refused while it streams in (Hono's `bodyLimit`). */
export function tooLarge(c: Context, maxBytes: number): Response {
  const detail = `body: more than the ${maxBytes} bytes allowed`;
  // The rest of the body is never read; a client that kept the connection would find it unusable.
  return problemResponse(c, problem(413, INVALID_INPUT_TYPES[413], detail, { field: "body" }), {
    connection: "close",
  });
}
