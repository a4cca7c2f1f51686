import * as v from "valibot";
import { storable, TOP_LEVEL_ATTRIBUTE } from "./storable.ts";

/** A shadow key: no dot (metadata paths are dotted), nothing a topic or a path would have to escape. */
export const SHADOW_KEY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Objects and arrays nest at most this deep inside `desired` or `reported` (`{"a":{"b":1}}` is 2). */
export const MAX_SHADOW_DEPTH = 6;

/** Largest shadow state (`{"desired":…,"reported":…}` as JSON), so a delta always fits one MQTT message. */
export const MAX_SHADOW_BYTES = 8 * 1024;

interface ShadowIssue {
  path: Array<string | number>;
  message: string;
}

/** The first key or nesting level the shadow refuses, with its path below the section. */
export function findShadowIssue(value: unknown, path: Array<string | number> = []): ShadowIssue | undefined {
  if (value === null || typeof value !== "object") return undefined;
  if (path.length >= MAX_SHADOW_DEPTH) {
    return { path, message: `is nested too deep: a shadow holds at most ${MAX_SHADOW_DEPTH} levels` };
  }
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value as Record<string, unknown>);
  for (const [key, item] of entries) {
    if (typeof key === "string" && !SHADOW_KEY_PATTERN.test(key)) {
      return { path: [...path, key], message: "keys must be 1-64 characters of A-Z, a-z, 0-9, _ or -" };
    }
    const issue = findShadowIssue(item, [...path, key]);
    if (issue) return issue;
  }
  return undefined;
}

/** valibot's path items for `keys` below `root`, so the problem names the field (`desired.light.x`). */
function issuePath(root: unknown, keys: Array<string | number>) {
  const items: v.IssuePathItem[] = [];
  let input = root as Record<string | number, unknown>;
  for (const key of keys) {
    const value = input?.[key];
    items.push(
      Array.isArray(input)
        ? { type: "array", origin: "value", input, key: key as number, value }
        : { type: "object", origin: "value", input, key: String(key), value },
    );
    input = value as Record<string | number, unknown>;
  }
  return items.length ? (items as [v.IssuePathItem, ...v.IssuePathItem[]]) : undefined;
}

const shadowShape = v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
  if (!dataset.typed) return;
  const issue = findShadowIssue(dataset.value);
  if (!issue) return;
  const path = issuePath(dataset.value, issue.path);
  addIssue({ message: issue.message, ...(path ? { path } : {}) });
});

/** One section of a shadow change: an object of keys; `null` deletes a key (JSON merge patch). */
export const ShadowState = (section: string) =>
  v.pipe(
    v.unknown(),
    v.check((value) => !Array.isArray(value), `${section} must be an object`),
    v.record(v.string(), v.unknown(), `${section} must be an object`),
    shadowShape,
    // Numbers, text and sizes DynamoDB would refuse are a 422 naming the field, not a 503.
    storable(TOP_LEVEL_ATTRIBUTE),
    v.check(
      (value) => Buffer.byteLength(JSON.stringify(value)) <= MAX_SHADOW_BYTES,
      `is larger than the ${MAX_SHADOW_BYTES} bytes a shadow may hold`,
    ),
  );

const ShadowVersion = v.pipe(
  v.number("version must be a number"),
  v.safeInteger("version must be a whole number"),
  v.minValue(0, "version must not be negative"),
);

/** `PATCH /v1/devices/{sn}/shadow`: the desired change, and the version it was made against (else 409). */
export const ShadowDesiredPatch = v.strictObject(
  {
    desired: ShadowState("desired"),
    version: v.optional(ShadowVersion),
  },
  "is not a known field; the body takes desired and version",
);
export type ShadowDesiredPatch = v.InferOutput<typeof ShadowDesiredPatch>;

/** What a device reports, on `api/mqtt/v1/{sn}/shadow/update` or `POST /v1/devices/{sn}/shadow`. */
export const ShadowReport = v.strictObject(
  { reported: ShadowState("reported") },
  "is not a known field; a device reports only reported",
);
export type ShadowReport = v.InferOutput<typeof ShadowReport>;

const JsonMap = v.record(v.string(), v.unknown());

/** A shadow as the API answers it (for the OpenAPI document). */
export const ShadowView = v.object({
  sn: v.string(),
  version: v.number(),
  desired: JsonMap,
  reported: JsonMap,
  delta: JsonMap,
  metadata: v.object({
    desired: v.record(v.string(), v.string()),
    reported: v.record(v.string(), v.string()),
  }),
  updatedAt: v.optional(v.string()),
});
export const ShadowAnswer = v.object({ shadow: ShadowView });

/** The delta as the device gets it, on `api/mqtt/v1/{sn}/shadow/delta` and from `GET /v1/devices/{sn}/shadow`. */
export const ShadowDeltaMessage = v.object({ version: v.number(), state: JsonMap });
