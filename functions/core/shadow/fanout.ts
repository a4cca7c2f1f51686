import { stableEventId } from "../event-id.ts";
import type { FanoutMessage } from "../fanout.ts";
import { computeDelta, type Shadow } from "./document.ts";

/**
 * The fan-out message of one shadow version: the whole state, its delta and metadata. `eventId` is the
 * device and version, so a retried change gives consumers the same id; keep the highest `version`.
 */
export function shadowMessage(shadow: Shadow): FanoutMessage {
  return {
    type: "shadow",
    eventId: stableEventId("shadow", shadow.sn, shadow.version),
    sn: shadow.sn,
    at: shadow.updatedAt ?? new Date(0).toISOString(),
    data: { ...publicShadow(shadow) },
  };
}

/** A shadow as the API, the fan-out and the feed show it: no bookkeeping fields. */
export function publicShadow(shadow: Shadow) {
  return {
    sn: shadow.sn,
    version: shadow.version,
    desired: shadow.desired,
    reported: shadow.reported,
    delta: computeDelta(shadow.desired, shadow.reported),
    metadata: shadow.metadata,
    ...(shadow.updatedAt ? { updatedAt: shadow.updatedAt } : {}),
  };
}

/** The delta as the device gets it over HTTP, the same as on `shadow/delta`. */
export function deviceDelta(shadow: Shadow) {
  return { version: shadow.version, state: computeDelta(shadow.desired, shadow.reported) };
}
