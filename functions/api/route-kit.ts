import { resolver } from "hono-openapi";
import type * as v from "valibot";
import type { PageRequest } from "../core/queries.ts";
import { type PagedRoute, routeCursor, storeCursor } from "./route-cursor.ts";
import { ProblemSchema } from "./schemas.ts";

/** A route's work, when `ApiOptions.deadlineMs` does not say otherwise. */
export const DEFAULT_DEADLINE_MS = 8_000;

/** A paged route's validated `?limit=&cursor=`: the store's cursor if this route handed the one given out. */
export function paging(
  route: PagedRoute,
  query: { limit: number; cursor?: string | undefined },
): PageRequest {
  const cursor = storeCursor(route, query.cursor);
  return { limit: query.limit, ...(cursor ? { cursor } : {}) };
}

/** `{ items, cursor? }`, the cursor tagged with the route that answers it. */
export function page<T>(route: PagedRoute, items: T[], cursor: string | undefined) {
  const next = routeCursor(route, cursor);
  return { items, ...(next ? { cursor: next } : {}) };
}

// --- OpenAPI: what the validators do not say (answers, tags, summaries) ------------------------------

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
  415: "The body is not sent as application/json",
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
