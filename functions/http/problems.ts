import type { Context } from "hono";
import type { InputErrorKind } from "../core/errors.ts";

/** RFC 9457 problem details: the one error format of every endpoint. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
  quarantineId?: string;
  [extension: string]: unknown;
}

/** Seconds a client waits before retrying a 503 of an outage (EMQX retries sooner anyway, see docs/emqx.md). */
export const RETRY_AFTER_SECONDS = "5";

/** Seconds before retrying a feature this deployment lacks: only an operator's change makes a retry help. */
export const NOT_CONFIGURED_RETRY_AFTER_SECONDS = "60";

/** Every kind of error answer either app gives; a domain `InputErrorKind` is one of them. */
export type ProblemKind =
  | InputErrorKind
  | "records_rejected"
  | "refused"
  | "internal"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "devices_disabled"
  | "command_conflict"
  | "job_conflict"
  | "version_conflict"
  | "unavailable"
  | "not_configured";

interface ProblemAnswer {
  status: number;
  /** The problem's `type`, and the `reason` of a quarantine entry. */
  type: string;
  title: string;
  retryAfter?: string;
}

/**
 * The answer to each kind of failure, the same in the ingest and the API, so one failure has one name
 * wherever it is answered. The statuses are what EMQX acts on (docs/emqx.md §7.1): a 4xx is dropped (the
 * message is quarantined), a 503 retried; never 500/502/504, which EMQX drops without a trace.
 */
export const PROBLEM_KINDS: Readonly<Record<ProblemKind, ProblemAnswer>> = {
  malformed: { status: 400, type: "invalid_request", title: "Bad Request" },
  invalid: { status: 422, type: "invalid_field", title: "Unprocessable Content" },
  too_large: { status: 413, type: "body_too_large", title: "Content Too Large" },
  unsupported_media_type: { status: 415, type: "unsupported_media_type", title: "Unsupported Media Type" },
  // Some records of an attendance backlog were refused; the others are stored.
  records_rejected: { status: 422, type: "invalid_attendance_record", title: "Unprocessable Content" },
  // The store refused a value validation let through: the same request would be refused again.
  refused: { status: 422, type: "refused_by_store", title: "Unprocessable Content" },
  // A bug in the ingest: kept in the quarantine rather than dropped (500) or retried forever (503).
  internal: { status: 422, type: "internal_error", title: "Unprocessable Content" },
  unauthorized: { status: 401, type: "unauthorized", title: "Unauthorized" },
  forbidden: { status: 403, type: "forbidden", title: "Forbidden" },
  not_found: { status: 404, type: "not_found", title: "Not Found" },
  devices_disabled: { status: 404, type: "http_devices_disabled", title: "Not Found" },
  command_conflict: { status: 409, type: "command_conflict", title: "Conflict" },
  job_conflict: { status: 409, type: "job_conflict", title: "Conflict" },
  version_conflict: { status: 409, type: "shadow_version_conflict", title: "Conflict" },
  unavailable: {
    status: 503,
    type: "unavailable",
    title: "Service Unavailable",
    retryAfter: RETRY_AFTER_SECONDS,
  },
  not_configured: {
    status: 503,
    type: "not_configured",
    title: "Service Unavailable",
    retryAfter: NOT_CONFIGURED_RETRY_AFTER_SECONDS,
  },
};

/** The problem document of `kind`; `extra` adds members (`field`, `quarantineId`, ...). */
export function problem(kind: ProblemKind, detail: string, extra: Partial<Problem> = {}): Problem {
  const { status, type, title } = PROBLEM_KINDS[kind];
  return { type, title, status, detail, ...extra };
}

/**
 * The answer of `kind`: its status, `application/problem+json`, and `Retry-After` for a 503.
 *
 * @example
 * return problemResponse(c, "not_found", `no job '${id}'`);
 */
export function problemResponse(
  c: Context,
  kind: ProblemKind,
  detail: string,
  extra: Partial<Problem> = {},
  headers: Record<string, string> = {},
): Response {
  const body = problem(kind, detail, extra);
  const retryAfter = PROBLEM_KINDS[kind].retryAfter;
  return c.body(JSON.stringify(body), body.status as 400, {
    "content-type": "application/problem+json",
    ...(retryAfter ? { "retry-after": retryAfter } : {}),
    ...headers,
  });
}

/** A body over the limit, refused while it streams in (Hono's `bodyLimit`). */
export function tooLarge(c: Context, maxBytes: number): Response {
  const detail = `body: more than the ${maxBytes} bytes allowed`;
  // The rest of the body is never read; a client that kept the connection would find it unusable.
  return problemResponse(c, "too_large", detail, { field: "body" }, { connection: "close" });
}
