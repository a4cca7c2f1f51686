import { atMs, isZoned } from "./att-window.ts";
import type { DeviceReport, DriftState, GapConfig, SeenPunch } from "./types.ts";

export interface DriftDecision {
  drift?: DriftState;
  /** The offset went past the threshold: announce `clock_drift` for this episode. */
  announce: boolean;
  /** Send `set_time` now. */
  setTime: boolean;
}

interface Sample {
  offsetMs: number;
  source: DriftState["source"];
}

/**
 * The device's clock offset: from the newest heartbeat's `device_time` against EMQX's receive time (both
 * ways), else from punches with an offset. A punch can only show a clock that is ahead (a punch sent
 * late, from an offline backlog, looks like a clock behind), so punches count only past the threshold.
 */
export function sampleOffset(
  punches: SeenPunch[],
  reports: DeviceReport[],
  config: GapConfig,
): Sample | undefined {
  const timed = reports
    .filter((r) => r.deviceTime !== undefined)
    .sort((a, b) => b.receivedAt - a.receivedAt)[0];
  if (timed) return { offsetMs: (timed.deviceTime as number) - timed.receivedAt, source: "status" };
  const ahead = punches
    .filter((p) => isZoned(p.attTimeNormalized))
    .map((p) => atMs(p.attTimeNormalized) - Date.parse(p.receivedAt));
  // Far ahead is an impossible time (flagged suspect), not a clock to set.
  const fresh = ahead.filter((ms) => ms < config.suspectMs);
  const highest = Math.max(...fresh);
  if (!(highest > config.driftThresholdMs)) return undefined;
  return { offsetMs: highest, source: "punch" };
}

/** What a new sample means: a new episode past the threshold is announced; `set_time` is sent, with a cooldown. */
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
  if (Math.abs(sample.offsetMs) <= config.driftThresholdMs) {
    return { drift: { ...sampled, flagged: false, setTimeSent: 0 }, announce: false, setTime: false };
  }
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
  const correctionMs = Math.max(Math.abs(sample.offsetMs), base.correctionMs ?? 0);
  return {
    drift: { ...flagged, setTimeSent: flagged.setTimeSent + 1, lastSetTimeAt: now, correctionMs },
    announce,
    setTime: true,
  };
}

/** Whether the drift state changed enough to be worth a write (a new sample alone is not). */
export function driftChanged(
  before: DriftState | undefined,
  after: DriftState | undefined,
  config: GapConfig,
): boolean {
  if (!before || !after) return before !== after;
  return (
    before.flagged !== after.flagged ||
    before.episode !== after.episode ||
    before.setTimeSent !== after.setTimeSent ||
    Math.abs(before.offsetMs - after.offsetMs) > config.driftThresholdMs / 2
  );
}
