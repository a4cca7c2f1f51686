import { describe, expect, it } from "vitest";
import { normalizeAttTime } from "../../functions/core/att-time.ts";

describe("normalizeAttTime", () => {
  it.each([
    ["2026-11-22 08:01:02", "2026-11-22T08:01:02.000"],
    ["2026-11-22T08:01:02", "2026-11-22T08:01:02.000"],
    ["2026-11-22T08:01:02.5", "2026-11-22T08:01:02.500"],
    ["2026-11-22T08:01:02+08:00", "2026-11-22T00:01:02.000Z"],
    ["2026-11-22T08:01:02+0800", "2026-11-22T00:01:02.000Z"],
    ["2026-11-22T01:01:02-05:30", "2026-11-22T06:31:02.000Z"],
    ["2026-11-22T08:01:02Z", "2026-11-22T08:01:02.000Z"],
    ["2026-01-01T02:00:00+08:00", "2025-12-31T18:00:00.000Z"],
  ])("%s → %s", (raw, expected) => {
    expect(normalizeAttTime(raw)).toBe(expected);
  });

  it("gives the same key to one instant written with different offsets", () => {
    expect(normalizeAttTime("2026-11-22T08:00:00+08:00")).toBe(normalizeAttTime("2026-11-22T00:00:00Z"));
  });

  it.each([
    "",
    "yesterday",
    "2026-13-01 00:00:00",
    "2026-02-29 00:00:00",
    "2026-11-22 24:00:00",
    "2026-11-22",
  ])("refuses %j", (raw) => {
    expect(normalizeAttTime(raw)).toBeUndefined();
  });
});
