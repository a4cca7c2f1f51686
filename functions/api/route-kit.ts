import type { Context } from "hono";
import type { LambdaContext } from "hono/aws-lambda";
import { resolver } from "hono-openapi";
import type * as v from "valibot";
import { withDeadline } from "../core/deadline.ts";
import { InvalidInputError } from "../core/errors.ts";
import type { PageRequest } from "../core/queries.ts";
import { SerialNumber } from "../core/schemas/common.ts";
import { parseOrReject } from "../core/validation.ts";
import { failureResponse } from "./answers.ts";
import { type PagedRoute, routeCursor, storeCursor } from "./route-cursor.ts";
import { ProblemSchema } from "./schemas.ts";
import type { ApiEnv, ApiOptions } from "./types.ts";

const DEFAULT_DEADLINE_MS = 8_000;
/** Time kept back from Lambda's remaining time to write the answer. */
const ANSWER_MARGIN_MS = 1_000;

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 100;

/** Runs a route's work within the deadline and maps whatever it throws to a problem answer. */
export function guard(options: ApiOptions) {
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  return async (c: Context<ApiEnv>, work: () => Promise<Response>): Promise<Response> => {
    const budget = Math.min(deadlineMs, remaining(c.env?.lambdaContext) - ANSWER_MARGIN_MS);
    try {
      return await withDeadline(work(), budget);
    } catch (error) {
      return failureResponse(c, error, options.logger);
    }
  };
}

function remaining(context: LambdaContext | undefined): number {
  return context?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY;
}

/** A path's serial number, or a 400 naming `sn` (Hono has percent-decoded it: `a%2Fb` arrives as `a/b`). */
export const parseSn = (value: string | undefined) => parseOrReject(SerialNumber, value, "sn", 400);

/** `?limit=` 1..100, default 25, or a 400 naming `limit`. */
export function parseLimit(value: string | undefined, max = MAX_LIMIT, fallback = DEFAULT_LIMIT): number {
  if (value === undefined) return fallback;
  const limit = /^\d{1,4}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= max)) {
    throw new InvalidInputError(400, "limit", `limit must be a whole number from 1 to ${max}`);
  }
  return limit;
}

/** `?limit=&cursor=` of a paged route: the limit, and the store's cursor if the route handed this one out. */
export function paging(route: PagedRoute, query: { limit?: string; cursor?: string }): PageRequest {
  const cursor = storeCursor(route, query.cursor);
  return { limit: parseLimit(query.limit), ...(cursor ? { cursor } : {}) };
}

/** `{ items, cursor? }`, the cursor tagged with the route that answers it. */
export function page<T>(route: PagedRoute, items: T[], cursor: string | undefined) {
  const next = routeCursor(route, cursor);
  return { items, ...(next ? { cursor: next } : {}) };
}

// --- OpenAPI helpers -------------------------------------------------------------------------------

export const jsonContent = (schema: v.GenericSchema) => ({
  "application/json": { schema: resolver(schema) },
});

const PROBLEM_TEXT: Record<number, string> = {
  400: "Bad request: the problem names the field",
  401: "No or unknown API key",
  403: "The key lacks the scope this route needs",
  404: "Not found",
  409: "Conflict",
  413: "Body too large",
  422: "Invalid body: the problem names the field",
  503: "A dependency is unavailable; retry after Retry-After",
};

/** The error answers of a route, all RFC 9457 problem documents. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(
    [401, 403, 503, ...statuses].map((status) => [
      String(status),
      {
        description: PROBLEM_TEXT[status] ?? "Error",
        content: { "application/problem+json": { schema: resolver(ProblemSchema) } },
      },
    ]),
  );
}

/** Query/path parameter documentation. */
export const param = (
  name: string,
  where: "path" | "query",
  description: string,
  required = where === "path",
) => ({
  name,
  in: where,
  required,
  description,
  schema: { type: "string" as const },
});

export const pagingParams = [
  param("limit", "query", `1-${MAX_LIMIT}, default ${DEFAULT_LIMIT}`),
  param("cursor", "query", "from the previous page's `cursor`; opaque"),
];
