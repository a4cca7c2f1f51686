import { atMs, isZoned } from "./att-window.ts";
import { SET_TIME_TTL_SECONDS } from "./messages.ts";
import type { DeviceReport, DriftState, GapConfig, SeenPunch } from "./types.ts";

export interface DriftDecision {
  drift?: DriftState;
  /** The offset went past the threshold: announce `clock_drift` for this episode. */
  announce: boolean;
  /** Send `set_time` now. */
  setTime: boolean;
}

export interface Sample {
  offsetMs: number;
  source: DriftState["source"];
}

/**
 * The device's clock offset: from the newest heartbeat's `device_time` against EMQX's receive time (both
 * ways), else, for a device that never reports its clock, from punches with an offset. Nothing sent
 * before the last `set_time` tells anything about the clock since: such samples are left out (they
 * would start the episode again right after the correction).
 */
export function sampleOffset(
  punches: SeenPunch[],
  reports: DeviceReport[],
  current: DriftState | undefined,
  config: GapConfig,
): Sample | undefined {
  const timed = reports.filter((r) => r.deviceTime !== undefined);
  const setAtMs = current?.lastSetTimeAt ? Date.parse(current.lastSetTimeAt) : undefined;
  const fresh = timed
    .filter((r) => setAtMs === undefined || r.receivedAt >= setAtMs)
    .sort((a, b) => b.receivedAt - a.receivedAt)[0];
  if (fresh) return { offsetMs: (fresh.deviceTime as number) - fresh.receivedAt, source: "status" };
  // A device that reports its clock is measured by its heartbeats only: its punches' times may be from
  // before a correction (a backlog, a backfill, or punches a pass reads again).
  if (timed.length > 0 || current?.source === "status") return undefined;
  return punchSample(punches, current, setAtMs, config);
}

/**
 * A punch can only show a clock that is ahead (a punch sent late, from an offline backlog, looks like a
 * clock behind), so punches start an episode only past the threshold, and end one only when the punches
 * stamped since the correction are back in line. The old clock may have stamped punches until the
 * `set_time` was applied or expired: up to its TTL after it was sent, plus the offset it corrected. A
 * punch stamped before that does not count (a backlog, a backfill, punches read again).
 */
function punchSample(
  punches: SeenPunch[],
  current: DriftState | undefined,
  setAtMs: number | undefined,
  config: GapConfig,
) {
  const stampedAfterMs =
    setAtMs === undefined ? -Infinity : setAtMs + SET_TIME_TTL_SECONDS * 1000 + (current?.correctionMs ?? 0);
  const ahead = punches
    .filter((p) => isZoned(p.attTimeNormalized) && atMs(p.attTimeNormalized) >= stampedAfterMs)
    .map((p) => atMs(p.attTimeNormalized) - Date.parse(p.receivedAt))
    // Far ahead is an impossible time (flagged suspect), not a clock to set.
    .filter((ms) => ms < config.suspectMs);
  if (ahead.length === 0) return undefined;
  const highest = Math.max(...ahead);
  if (highest > config.driftThresholdMs || current?.flagged)
    return { offsetMs: highest, source: "punch" as const };
  return undefined;
}

/**
 * What a new sample means: past the threshold starts an episode (announced once) and sends `set_time`,
 * with a cooldown and a limit per episode. Without a `set_time` sent, the episode ends only when the
 * offset is back under half the threshold, so an offset wobbling around the threshold is one episode.
 */
export function decideDrift(
  current: DriftState | undefined,
  sample: Sample | undefined,
  nowMs: number,
  config: GapConfig,
): DriftDecision {
  if (!sample) return { ...(current ? { drift: current } : {}), announce: false, setTime: false };
  const base: DriftState = current ?? {
    offsetMs: 0,
    source: sample.source,
    sampledAt: "",
    episode: 0,
    flagged: false,
    setTimeSent: 0,
  };
  const now = new Date(nowMs).toISOString();
  const sampled = { ...base, offsetMs: sample.offsetMs, source: sample.source, sampledAt: now };
  const offset = Math.abs(sample.offsetMs);
  if (offset <= config.driftThresholdMs) {
    // A `set_time` leaves the clock off by its way to the device: back within the threshold is enough.
    const ended = !base.flagged || base.setTimeSent > 0 || offset <= config.driftThresholdMs / 2;
    const drift = ended ? { ...sampled, flagged: false, setTimeSent: 0 } : sampled;
    return { drift, announce: false, setTime: false };
  }
  return flag(base, sampled, nowMs, config);
}

function flag(base: DriftState, sampled: DriftState, nowMs: number, config: GapConfig): DriftDecision {
  const announce = !base.flagged;
  const flagged = {
    ...sampled,
    flagged: true,
    episode: announce ? base.episode + 1 : base.episode,
    ...(announce ? { setTimeSent: 0 } : {}),
  };
  const cooled = !base.lastSetTimeAt || nowMs - Date.parse(base.lastSetTimeAt) >= config.setTimeCooldownMs;
  if (!config.setTime || !cooled || flagged.setTimeSent >= config.maxSetTime)
    return { drift: flagged, announce, setTime: false };
  const correctionMs = Math.max(Math.abs(sampled.offsetMs), base.correctionMs ?? 0);
  return {
    drift: {
      ...flagged,
      setTimeSent: flagged.setTimeSent + 1,
      lastSetTimeAt: new Date(nowMs).toISOString(),
      correctionMs,
    },
    announce,
    setTime: true,
  };
}

/**
 * Whether the drift state changed enough to be worth a write: a new sample alone is not, nor is a first
 * sample within the threshold (it is written with the next write that happens anyway).
 */
export function driftChanged(
  before: DriftState | undefined,
  after: DriftState | undefined,
  config: GapConfig,
): boolean {
  if (!after) return before !== undefined;
  if (!before) return after.flagged;
  return (
    before.flagged !== after.flagged ||
    before.episode !== after.episode ||
    before.setTimeSent !== after.setTimeSent ||
    Math.abs(before.offsetMs - after.offsetMs) > config.driftThresholdMs / 2
  );
}
