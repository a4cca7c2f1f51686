import { createHash } from "node:crypto";
import { InvalidInputError } from "../core/errors.ts";

/** The paged routes; each route's cursors are refused by every other. */
export const PAGED_ROUTES = {
  devices: "GET /v1/devices",
  deviceAttendance: "GET /v1/devices/{sn}/attendance",
  userAttendance: "GET /v1/users/{userId}/attendance",
  commands: "GET /v1/devices/{sn}/commands",
  quarantine: "GET /v1/quarantine",
  replay: "POST /v1/replay",
  jobs: "GET /v1/jobs",
  jobExecutions: "GET /v1/jobs/{id}/executions",
  groupDevices: "GET /v1/devices?group=",
} as const;
export type PagedRoute = (typeof PAGED_ROUTES)[keyof typeof PAGED_ROUTES];

const SEPARATOR = ".";

/** A short fixed tag per route; `.` is outside base64url, so the tag never runs into the store's cursor. */
const tagOf = (route: PagedRoute) =>
  createHash("sha256").update(route).digest("base64url").slice(0, 8) + SEPARATOR;

/**
 * The store binds a cursor to its query, but two routes can run the same query: a replay of one device
 * reads what `GET /v1/devices/{sn}/attendance` reads. So each route also tags the cursors it hands out,
 * and another route's cursor is a 400 naming `cursor` (as the README says), never a silent continuation.
 *
 * @example
 * const answer = routeCursor(PAGED_ROUTES.replay, page.cursor);     // "Xy3kP0aQ.eyJxIjoi…"
 * storeCursor(PAGED_ROUTES.deviceAttendance, answer);               // throws 400, field "cursor"
 */
export function routeCursor(route: PagedRoute, storeCursor: string | undefined): string | undefined {
  return storeCursor ? tagOf(route) + storeCursor : undefined;
}

/** The store's cursor inside one this route handed out; absent or empty means the first page. */
export function storeCursor(route: PagedRoute, cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const tag = tagOf(route);
  if (cursor.startsWith(tag) && cursor.length > tag.length) return cursor.slice(tag.length);
  throw new InvalidInputError(
    "malformed",
    "cursor",
    "cursor is not one this route returned; start without one",
  );
}
