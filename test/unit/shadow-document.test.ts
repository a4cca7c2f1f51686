import type * as v from "valibot";
import { describe, expect, it } from "vitest";
import { toPublishRequest } from "../../functions/core/commands/envelope.ts";
import { MAX_SHADOW_BYTES, ShadowDesiredPatch, ShadowReport } from "../../functions/core/schemas/shadow.ts";
import { deltaCommandId, SHADOW_DELTA_OP } from "../../functions/core/shadow/delta-command.ts";
import { computeDelta, type LeafTimes, mergePatch } from "../../functions/core/shadow/document.ts";
import { parseDeviceTopic } from "../../functions/core/topics.ts";
import { parseOrReject } from "../../functions/core/validation.ts";

const T0 = "2026-12-01T00:00:00.000Z";
const T1 = "2026-12-01T00:01:00.000Z";

describe("shadow merge (JSON merge patch) and per-key times", () => {
  it("sets, replaces and deletes (null) keys, merging objects key by key", () => {
    const times: LeafTimes = {};
    const first = mergePatch({}, { light: { color: "red", level: 3 }, fan: true }, times, T0);
    const second = mergePatch(first, { light: { color: null, level: 4 }, fan: null, mode: "eco" }, times, T1);
    expect(second).toEqual({ light: { level: 4 }, mode: "eco" });
  });

  it("records when each leaf last changed; a value set to what it was keeps its time", () => {
    const times: LeafTimes = {};
    const first = mergePatch({}, { light: { color: "red", level: 3 } }, times, T0);
    mergePatch(first, { light: { color: "red", level: 4 } }, times, T1);
    expect(times).toEqual({ "light.color": T0, "light.level": T1 });
  });

  it("drops the times of a deleted object's leaves, and of a leaf that became an object", () => {
    const times: LeafTimes = {};
    const first = mergePatch({}, { light: { color: "red" }, mode: "eco" }, times, T0);
    const second = mergePatch(first, { light: null, mode: { day: "eco" } }, times, T1);
    expect(second).toEqual({ mode: { day: "eco" } });
    expect(times).toEqual({ "mode.day": T1 });
  });

  it("replaces arrays whole", () => {
    const times: LeafTimes = {};
    const merged = mergePatch({ list: [1, 2, 3] }, { list: [4] }, times, T0);
    expect(merged).toEqual({ list: [4] });
    expect(times).toEqual({ list: T0 });
  });
});

describe("shadow delta", () => {
  it("holds the desired keys whose reported value differs, nested key by key", () => {
    const desired = { light: { color: "red", level: 3 }, fan: true, list: [1] };
    const reported = { light: { color: "red", level: 2 }, fan: true, list: [1], extra: 9 };
    expect(computeDelta(desired, reported)).toEqual({ light: { level: 3 } });
  });

  it("is empty when the device reports everything desired", () => {
    expect(computeDelta({ a: { b: 1 } }, { a: { b: 1, c: 2 } })).toEqual({});
  });

  it("is published on shadow/delta with its version, through the command envelope", () => {
    const command = {
      sn: "SN1",
      id: deltaCommandId(7),
      op: SHADOW_DELTA_OP,
      data: { version: 7, state: { fan: true } },
      status: "queued" as const,
      createdAt: T0,
      updatedAt: T0,
      requestHash: "x",
    };
    const request = toPublishRequest(command, new Date(T0));
    expect(request).toMatchObject({ topic: "api/mqtt/v1/SN1/shadow/delta", qos: 1 });
    expect(JSON.parse((request as { payload: string }).payload)).toEqual({
      version: 7,
      state: { fan: true },
    });
  });
});

describe("shadow input limits", () => {
  const fieldOf = (schema: v.GenericSchema, body: unknown) => {
    try {
      parseOrReject(schema, body, "");
      return undefined;
    } catch (error) {
      return (error as { field: string }).field;
    }
  };

  it("names a key outside the pattern", () => {
    expect(fieldOf(ShadowDesiredPatch, { desired: { light: { "co.lor": 1 } } })).toBe("desired.light.co.lor");
  });

  it("refuses nesting deeper than the limit, naming where", () => {
    const deep = { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } };
    expect(fieldOf(ShadowReport, { reported: deep })).toBe("reported.a.b.c.d.e.f");
  });

  it("refuses a section larger than the size limit", () => {
    expect(fieldOf(ShadowReport, { reported: { big: "x".repeat(MAX_SHADOW_BYTES) } })).toBe("reported");
  });

  it("refuses an array, a negative version and unknown fields", () => {
    expect(fieldOf(ShadowDesiredPatch, { desired: [1] })).toBe("desired");
    expect(fieldOf(ShadowDesiredPatch, { desired: {}, version: -1 })).toBe("version");
    expect(fieldOf(ShadowReport, { reported: {}, desired: {} })).toBe("desired");
  });
});

describe("shadow topics", () => {
  it("are two-level channels of the device topic; other two-level topics are not the bridge's", () => {
    expect(parseDeviceTopic("api/mqtt/v1/SN1/shadow/update")).toEqual({
      sn: "SN1",
      channel: "shadow/update",
    });
    expect(parseDeviceTopic("api/mqtt/v1/SN1/shadow/delta")).toEqual({ sn: "SN1", channel: "shadow/delta" });
    expect(parseDeviceTopic("api/mqtt/v1/SN1/shadow/other")).toBeUndefined();
    expect(parseDeviceTopic("api/mqtt/v1/SN1/evt/extra")).toBeUndefined();
    expect(parseDeviceTopic("api/mqtt/v1/SN1/shadow/update/x")).toBeUndefined();
  });
});
