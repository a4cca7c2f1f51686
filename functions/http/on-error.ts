import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context, ErrorHandler } from "hono";
import { CommandConflictError } from "../core/commands/errors.ts";
import { InvalidInputError, TransientError } from "../core/errors.ts";
import { JobConflictError } from "../core/jobs/create-job.ts";
import { RecordRefusedError } from "../core/refusal.ts";
import { ShadowVersionConflictError } from "../core/shadow/errors.ts";
import { type Problem, type ProblemKind, problemResponse } from "./problems.ts";

export interface ErrorAnswerOptions {
  logger: Logger;
  /** Called for every 503 answered (the ingest counts them). */
  onUnavailable?: () => void;
}

interface Failure {
  kind: ProblemKind;
  detail: string;
  extra?: Partial<Problem>;
}

/**
 * The one `onError` of both apps: whatever a route or middleware throws becomes an RFC 9457 answer from
 * the table in `problems.ts`. Unknown errors become 503, never 500: a caller retrying a create is safe
 * (creates are idempotent on `id`), while a 500 tells it nothing it can act on (and EMQX drops it).
 *
 * @example
 * app.onError(answerErrors({ logger }));
 */
export function answerErrors(options: ErrorAnswerOptions): ErrorHandler {
  return (error, c) => {
    const failure = domainFailure(error) ?? outage(error, c, options.logger);
    if (failure.kind === "unavailable") options.onUnavailable?.();
    return problemResponse(c, failure.kind, failure.detail, failure.extra);
  };
}

/** The answer to a failure the domain names, or undefined for an outage or a bug. */
function domainFailure(error: unknown): Failure | undefined {
  if (error instanceof InvalidInputError)
    return { kind: error.kind, detail: error.message, extra: { field: error.field } };
  if (error instanceof CommandConflictError)
    return { kind: "command_conflict", detail: error.message, extra: { field: "id" } };
  if (error instanceof JobConflictError)
    return { kind: "job_conflict", detail: error.message, extra: { field: "id" } };
  if (error instanceof ShadowVersionConflictError) {
    const extra = { field: "version", currentVersion: error.current };
    return { kind: "version_conflict", detail: error.message, extra };
  }
  return undefined;
}

function outage(error: unknown, c: Context, log: Logger): Failure {
  const request = { method: c.req.method, path: c.req.path };
  if (error instanceof RecordRefusedError) {
    // The store refused something validation let through: the same request would be refused again, so a
    // 503 would be retried forever. The schemas should have caught it, hence an error in the log.
    log.error("the store refused a request that passed validation; answering 422", { ...request, error });
    const detail = "the request holds a value the store cannot keep";
    return { kind: "refused", detail, extra: { field: "body" } };
  }
  if (error instanceof TransientError) {
    log.warn("answering 503: a dependency is unavailable", { ...request, reason: error.message });
    return { kind: "unavailable", detail: error.message };
  }
  log.error("unexpected failure; answering 503", { ...request, error });
  return { kind: "unavailable", detail: "the request failed unexpectedly; retry later" };
}
