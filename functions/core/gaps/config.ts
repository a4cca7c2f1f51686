import type { GapConfig } from "./types.ts";

const MINUTE = 60_000;

/**
 * Production values. The grace period outlasts EMQX's retrying of one rule output (`request_ttl` 10 min,
 * docs/emqx.md §7.2): a number still missing after it will not come by itself.
 */
export const DEFAULT_GAP_CONFIG: GapConfig = {
  graceMs: 15 * MINUTE,
  backoffMs: 15 * MINUTE,
  maxBackoffMs: 6 * 60 * MINUTE,
  maxAttempts: 5,
  maxResend: 500,
  // At most one tracker write per 20 punches when nothing is missing: ≤ 0.05 WRU per punch, half the
  // issue's budget of 0.1, leaving the rest for gaps. The lag costs reads only: a pass reads up to 20
  // punches again, ≈ 4 KB of number fields, which one 0.5-RRU Query page holds anyway.
  persistEvery: 20,
  windowSlackMs: 10 * MINUTE,
  driftThresholdMs: 2 * MINUTE,
  setTime: true,
  setTimeCooldownMs: 30 * MINUTE,
  maxSetTime: 3,
  suspectMs: 24 * 60 * MINUTE,
  closedKept: 20,
};
