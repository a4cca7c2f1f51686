import fc from "fast-check";
import type { CaseSpec, FuzzCase } from "./cases.ts";
import { encodeSegment } from "./cases.ts";
import {
  badAttTime,
  badKey,
  badNumber,
  badSerial,
  nested,
  nestedJsonText,
  oddJsonText,
  oddString,
  tinyNumber,
  wrongType,
} from "./values.ts";

type Fields = Record<string, unknown>;
const apiCase = (
  family: string,
  method: FuzzCase["method"],
  path: string,
  body: string | undefined,
  expect: FuzzCase["expect"],
): FuzzCase => ({
  family,
  target: "api",
  method,
  path,
  auth: { kind: "api" },
  ...(body === undefined ? {} : { body }),
  expect,
  quarantined: false,
});

const set = (key: string, value: unknown) => (body: Fields) => {
  if (value === undefined) delete body[key];
  else body[key] = value;
  return body;
};
const reject = (edit: (body: Fields) => Fields) => ({ edit, expect: "reject" as const });

/** One thing wrong with `{op, data, ttlSeconds}`. */
const commandFault = fc.oneof(
  fc
    .constantFrom(undefined, "", "x".repeat(65), "a b", 5, null, "u\uD800", "op/x")
    .map((v) => reject(set("op", v))),
  fc.constantFrom([1], "x", 5, null, true).map((v) => reject(set("data", v))),
  badNumber.map((x) => reject(set("data", { a: x }))),
  tinyNumber.map((x) => reject(set("data", { a: { b: x } }))),
  badKey.map((key) => reject(set("data", { [key]: 1 }))),
  fc.integer({ min: 31, max: 40 }).map((depth) => reject(set("data", { d: nested(depth) }))),
  fc.constantFrom("", "a b", "x".repeat(65), 5, "u\uD800").map((v) => reject(set("id", v))),
  fc.constantFrom(0, -1, 1.5, 1e300, "60", 604_801, null).map((v) => reject(set("ttlSeconds", v))),
  fc.constantFrom("colour", "", "\uD800", "k".repeat(70_000)).map((key) => reject(set(key, 1))),
  oddString.map((s) => ({ edit: set("data", { note: s }), expect: "any" as const })),
);

const command: fc.Arbitrary<CaseSpec> = fc.oneof(
  {
    arbitrary: commandFault.map(
      (fault) => (sn: string) =>
        apiCase(
          "api.command",
          "POST",
          `/v1/devices/${sn}/commands`,
          JSON.stringify(fault.edit({ op: "ping", data: { a: 1 }, ttlSeconds: 60 })),
          fault.expect,
        ),
    ),
    weight: 6,
  },
  {
    arbitrary: oddJsonText.map(
      (text) => (sn: string) => apiCase("api.command", "POST", `/v1/devices/${sn}/commands`, text, "reject"),
    ),
    weight: 2,
  },
  {
    arbitrary: fc.constant((sn: string) =>
      apiCase(
        "api.command",
        "POST",
        `/v1/devices/${sn}/commands`,
        `{"op":"ping","data":${nestedJsonText(5_000)}}`,
        "reject",
      ),
    ),
    weight: 1,
  },
  {
    arbitrary: badSerial.map(
      (bad) => () =>
        apiCase(
          "api.command",
          "POST",
          `/v1/devices/${encodeSegment(bad)}/commands`,
          '{"op":"ping"}',
          "reject",
        ),
    ),
    weight: 1,
  },
);

/** Query values that are no time: never empty (empty means "absent") and never a plain date. */
const badWindowValue = badAttTime
  .map((value) => (typeof value === "string" ? value : JSON.stringify(value)))
  .filter(
    (value) => (value.trim() !== "" && !/^\d{4}-\d{2}-\d{2}$/.test(value.trim())) || value === "2026-02-30",
  );
const badLimit = fc.constantFrom("0", "101", "-1", "1.5", "abc", "1e2", "99999", " 1", "0x10", "\uD800");
const q = (value: string) => encodeSegment(value);

const query: fc.Arbitrary<CaseSpec> = fc.oneof(
  fc
    .constantFrom("yes", "1", "TRUE", "\uD800", "null")
    .map((v) => () => apiCase("api.query", "GET", `/v1/devices?online=${q(v)}`, undefined, "reject")),
  badLimit.map(
    (v) => (sn: string) =>
      apiCase("api.query", "GET", `/v1/devices/${sn}/attendance?limit=${q(v)}`, undefined, "reject"),
  ),
  badSerial.map(
    (bad) => () => apiCase("api.query", "GET", `/v1/devices/${encodeSegment(bad)}`, undefined, "reject"),
  ),
  fc.tuple(fc.constantFrom("from", "to"), badWindowValue).map(
    ([key, v]) =>
      (sn: string) =>
        apiCase("api.query", "GET", `/v1/devices/${sn}/attendance?${key}=${q(v)}`, undefined, "reject"),
  ),
  fc.constant((sn: string) =>
    apiCase(
      "api.query",
      "GET",
      `/v1/devices/${sn}/attendance?from=2026-11-23&to=2026-11-22`,
      undefined,
      "reject",
    ),
  ),
  fc.constantFrom("a b", "a#b", "x".repeat(65), "u\uD800", "\uDFFF").map(
    (user) => () =>
      // Broken UTF-16 goes out as bytes no UTF-8 decoder takes; the router keeps them as literal
      // text, a user id no punch can have (the ingest refuses such ids), so an empty page is fine too.
      apiCase(
        "api.query",
        "GET",
        `/v1/users/${encodeSegment(user)}/attendance`,
        undefined,
        /[\uD800-\uDFFF]/.test(user) ? "any" : "reject",
      ),
  ),
  fc
    .constantFrom("QUEUED", "done", "", "\uD800", "acked,failed")
    .map(
      (s) => (sn: string) =>
        apiCase(
          "api.query",
          "GET",
          `/v1/devices/${sn}/commands?status=${q(s)}`,
          undefined,
          s === "" ? "any" : "reject",
        ),
    ),
  fc
    .constantFrom("a b", "x".repeat(65), "u\uD800", "%")
    .map(
      (id) => (sn: string) =>
        apiCase("api.query", "GET", `/v1/devices/${sn}/commands/${encodeSegment(id)}`, undefined, "reject"),
    ),
  fc
    .constantFrom("2026-1-1", "today", "2026/11/22", "\uD800", "20261122")
    .map((day) => () => apiCase("api.query", "GET", `/v1/quarantine?day=${q(day)}`, undefined, "reject")),
);

/** One thing wrong with `{from, to}` of a replay. */
const replayFault = fc.oneof(
  fc.tuple(fc.constantFrom("from", "to"), badWindowValue).map(([key, v]) => set(key, v)),
  fc.tuple(fc.constantFrom("from", "to"), wrongType("string")).map(([key, v]) => set(key, v)),
  fc.constantFrom("from", "to").map((key) => set(key, undefined)),
  fc.constantFrom(0, 1_001, 1.5, "10", 1e300, -1).map((v) => set("pageSize", v)),
  badSerial.map((v) => set("sn", v)),
  fc.constantFrom("x", "eyJxIjoxfQ", "%00", 5).map((v) => set("cursor", v)),
  fc.constantFrom("colour", "", "\uD800").map((key) => set(key, 1)),
);

const replay: fc.Arbitrary<CaseSpec> = fc.oneof(
  replayFault.map(
    (fault) => () =>
      apiCase(
        "api.replay",
        "POST",
        "/v1/replay",
        JSON.stringify(fault({ from: "2026-11-01", to: "2026-11-30" })),
        "reject",
      ),
  ),
  oddJsonText.map((text) => () => apiCase("api.replay", "POST", "/v1/replay", text, "reject")),
);

export const apiCases: fc.Arbitrary<CaseSpec> = fc.oneof(
  { arbitrary: command, weight: 4 },
  { arbitrary: query, weight: 4 },
  { arbitrary: replay, weight: 2 },
);
