import { isDeepStrictEqual } from "node:util";

/** A JSON object as a shadow section holds it (`desired`, `reported`, a delta). */
export type JsonObject = { [key: string]: unknown };

/** Which half of the shadow a change writes: operators set `desired`, devices `reported`. */
export type ShadowSection = "desired" | "reported";

/**
 * When each leaf value last changed, by dotted path (`light.color`): keys cannot hold a dot (see
 * `SHADOW_KEY_PATTERN`), so a path names exactly one value. Arrays are leaves: they are replaced whole.
 */
export type LeafTimes = Record<string, string>;

/** One device's shadow as stored: one item, written only when `version` is still what was read. */
export interface Shadow {
  sn: string;
  /** Grows by one with every change; 0 for a device that has no shadow yet. */
  version: number;
  desired: JsonObject;
  reported: JsonObject;
  metadata: { desired: LeafTimes; reported: LeafTimes };
  /** ISO time of the last change; absent before the first. */
  updatedAt?: string;
  /** The version whose delta is the newest one made (its command id names it); absent before any. */
  deltaVersion?: number;
  /** Hash of that delta, so a change that leaves the delta as it was sends nothing to the device. */
  deltaHash?: string;
  /** The delta version before `deltaVersion`: its command, if still unsent, is superseded. */
  previousDeltaVersion?: number;
  /** The last version whose fan-out and delta command were done; behind `version` after a crash. */
  syncedVersion?: number;
}

export function emptyShadow(sn: string): Shadow {
  return { sn, version: 0, desired: {}, reported: {}, metadata: { desired: {}, reported: {} } };
}

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * JSON merge patch (RFC 7396) of `patch` into `target`: `null` deletes a key, an object merges into an
 * object, anything else replaces. `times` (a copy the caller owns) gets `at` for every leaf whose value
 * changed and loses the paths of values that went away; a value set to what it was keeps its time.
 */
export function mergePatch(
  target: JsonObject,
  patch: JsonObject,
  times: LeafTimes,
  at: string,
  prefix = "",
): JsonObject {
  const merged: JsonObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const before = merged[key];
    if (value === null) {
      if (key in merged) forget(times, path);
      delete merged[key];
    } else if (isJsonObject(value)) {
      // A leaf turned into an object: its own time goes, its new leaves get theirs below.
      if (!isJsonObject(before)) delete times[path];
      merged[key] = mergePatch(isJsonObject(before) ? before : {}, value, times, at, path);
    } else if (!isDeepStrictEqual(before, value)) {
      forget(times, path);
      merged[key] = value;
      times[path] = at;
    }
  }
  return merged;
}

/** Drops the time of `path` and of every path below it. */
function forget(times: LeafTimes, path: string): void {
  for (const key of Object.keys(times)) {
    if (key === path || key.startsWith(`${path}.`)) delete times[key];
  }
}

/**
 * The desired keys whose reported value differs, with their desired value: what the device still has
 * to do. Objects on both sides are compared key by key; keys only reported are not the device's to drop.
 */
export function computeDelta(desired: JsonObject, reported: JsonObject): JsonObject {
  const delta: JsonObject = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = reported[key];
    if (isJsonObject(want) && isJsonObject(have)) {
      const inner = computeDelta(want, have);
      if (Object.keys(inner).length > 0) delta[key] = inner;
    } else if (!isDeepStrictEqual(want, have)) {
      delta[key] = want;
    }
  }
  return delta;
}

/** Bytes of the shadow's state as JSON (desired and reported), the figure its size limit applies to. */
export function stateBytes(shadow: Pick<Shadow, "desired" | "reported">): number {
  return Buffer.byteLength(JSON.stringify({ desired: shadow.desired, reported: shadow.reported }));
}
