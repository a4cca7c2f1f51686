import fc from "fast-check";
import type { CaseSpec, FuzzCase } from "./cases.ts";
import { encodeSegment } from "./cases.ts";

/** Listings whose cursors the harness collects before the run (all with `limit=1`, so each has a cursor). */
export const CURSOR_ROUTES = {
  devices: "/v1/devices?limit=1",
  onlineDevices: "/v1/devices?online=true&limit=1",
  seedAttendance: "/v1/devices/SEED1/attendance?limit=1",
  otherAttendance: "/v1/devices/SEED2/attendance?limit=1",
  userAttendance: "/v1/users/seeduser/attendance?limit=1",
  commands: "/v1/devices/SEED1/commands?limit=1",
  queuedCommands: "/v1/devices/SEED1/commands?status=queued&limit=1",
  quarantine: "/v1/quarantine?limit=1",
} as const;
export type CursorRoute = keyof typeof CURSOR_ROUTES | "replay";
const ROUTES = Object.keys(CURSOR_ROUTES) as Array<keyof typeof CURSOR_ROUTES>;

/** `{CURSOR:route}` in a path or body is replaced by the harness with that route's real cursor. */
const realCursor = (route: CursorRoute) => `{CURSOR:${route}}`;

const base64url = (text: string) => Buffer.from(text).toString("base64url");
const forged = fc
  .oneof(
    fc.string({ maxLength: 40 }).map((s) => encodeSegment(s)),
    fc.string({ unit: "binary", maxLength: 60 }).map((s) => base64url(s)),
    fc.record({ q: fc.string(), k: fc.anything() }).map((o) => base64url(JSON.stringify(o) ?? "")),
    fc.constantFrom(
      base64url('{"q":1}'),
      base64url("null"),
      base64url('{"k":{"pk":{"S":"DEVICE#SEED1"}}}'),
      "%00",
      "====",
    ),
  )
  // An empty cursor means "no cursor": the first page, rightly.
  .filter((cursor) => cursor.length > 0);

const listing = (
  family: string,
  route: keyof typeof CURSOR_ROUTES,
  cursor: string,
  expect: FuzzCase["expect"],
): FuzzCase => ({
  family,
  target: "api",
  method: "GET",
  path: `${CURSOR_ROUTES[route]}&cursor=${cursor}`,
  auth: { kind: "api" },
  expect,
  quarantined: false,
});

/** Forged cursors, cursors of another listing (or another device's), and the replay's cursor swapped. */
export const cursorCases: fc.Arbitrary<CaseSpec> = fc.oneof(
  fc.tuple(fc.constantFrom(...ROUTES), forged).map(
    ([route, cursor]) =>
      () =>
        listing("api.cursor", route, cursor, "reject"),
  ),
  fc
    .tuple(fc.constantFrom(...ROUTES), fc.constantFrom<CursorRoute>(...ROUTES, "replay"))
    .filter(
      ([route, from]) =>
        route !== from &&
        !(route === "devices" && from === "onlineDevices") &&
        !(route === "onlineDevices" && from === "devices"),
    )
    .map(
      ([route, from]) =>
        () =>
          listing("api.cursor", route, realCursor(from), "reject"),
    ),
  fc.constantFrom(...ROUTES).map(
    (from) => (): FuzzCase => ({
      family: "api.cursor",
      target: "api",
      method: "POST",
      path: "/v1/replay",
      body: JSON.stringify({ from: "2026-11-01", to: "2026-11-30", cursor: realCursor(from) }),
      auth: { kind: "api" },
      expect: "reject",
      quarantined: false,
    }),
  ),
);

/** Bodies above every limit, streamed so only the server could hold them whole. */
/** A body of `bytes` streamed to one of the four routes that take a body (`which` 0..3). */
export function hugeCase(bytes: number, which: number): CaseSpec {
  return (sn) => {
    const targets: Array<Pick<FuzzCase, "target" | "path" | "auth" | "quarantined">> = [
      { target: "ingest", path: "/emqx/rule-events", auth: { kind: "emqx" }, quarantined: true },
      { target: "ingest", path: `/v1/devices/${sn}/evt`, auth: { kind: "device", sn }, quarantined: true },
      { target: "api", path: `/v1/devices/${sn}/commands`, auth: { kind: "api" }, quarantined: false },
      { target: "api", path: "/v1/replay", auth: { kind: "api" }, quarantined: false },
    ];
    const target = targets[which % targets.length] as (typeof targets)[number];
    return { family: "huge", method: "POST", streamBytes: bytes, expect: "reject", ...target };
  };
}

/** Bodies above every limit (300 KiB to 4 MiB), streamed so only the server could hold them whole. */
export const hugeCases: fc.Arbitrary<CaseSpec> = fc
  .tuple(fc.integer({ min: 300 * 1024, max: 4 * 1024 * 1024 }), fc.nat(3))
  .map(([bytes, which]) => hugeCase(bytes, which));
