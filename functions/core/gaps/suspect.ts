import { atMs, isZoned } from "./att-window.ts";
import type { GapConfig, SeenPunch } from "./types.ts";

/** A device-local time may be up to this far from UTC either way. */
const ZONE_SLACK_MS = 14 * 3600_000;

export type SuspectReason = "future" | "before_first_sight";

/**
 * Punches whose time cannot be right: far after they were received, or long before the bridge first
 * saw the device. They stay stored and fanned out; the stored item is flagged so that readers can tell.
 */
export function findSuspects(punches: SeenPunch[], firstSightAt: string, config: GapConfig) {
  const suspects: Array<{ punch: SeenPunch; reason: SuspectReason }> = [];
  for (const punch of punches) {
    if (punch.suspect) continue;
    const reason = suspectReason(punch, Date.parse(firstSightAt), config.suspectMs);
    if (reason) suspects.push({ punch, reason });
  }
  return suspects;
}

function suspectReason(punch: SeenPunch, firstSightMs: number, limitMs: number): SuspectReason | undefined {
  const at = atMs(punch.attTimeNormalized);
  const limit = limitMs + (isZoned(punch.attTimeNormalized) ? 0 : ZONE_SLACK_MS);
  if (at - Date.parse(punch.receivedAt) > limit) return "future";
  if (firstSightMs - at > limit) return "before_first_sight";
  return undefined;
}
