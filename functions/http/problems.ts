import type { Context } from "hono";

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

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  503: "Service Unavailable",
};

export function problem(status: number, type: string, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type, title: TITLES[status] ?? "Error", status, detail, ...extra };
}

export function problemResponse(c: Context, body: Problem, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(body), body.status as 400, {
    "content-type": "application/problem+json",
    ...headers,
  });
}
