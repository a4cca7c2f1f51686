import { isDeepStrictEqual } from "node:util";
import type { FanoutMessage } from "../fanout.ts";
import type { CommandRequest } from "../schemas/command.ts";
import { atMs } from "./att-window.ts";
import { decideDrift, driftChanged, sampleOffset } from "./drift.ts";
import { advanceGaps } from "./lifecycle.ts";
import { driftMessage, gapMessage, resendCommand, setTimeCommand } from "./messages.ts";
import { findSuspects, type SuspectReason } from "./suspect.ts";
import { mergePunches, mergeReport } from "./track-seq.ts";
import type { DeviceReport, Gap, GapConfig, GapTracker, SeenPunch } from "./types.ts";

export interface ReconcileInput {
  punches: SeenPunch[];
  reports: DeviceReport[];
  nowMs: number;
  /** A resend of the last wave is neither answered nor expired: no new one now. */
  resendPending?: boolean;
}

export interface ReconcileResult {
  tracker: GapTracker;
  /** Whether the tracker must be written (else the write is skipped: nothing worth a write unit changed). */
  persist: boolean;
  /** Why it must be written (the soak and the pass's figures count writes by it). */
  persistReason?: PersistReason;
  events: FanoutMessage[];
  commands: CommandRequest[];
  suspects: Array<{ punch: SeenPunch; reason: SuspectReason }>;
}

/** How far the reading start of a device without numbers may lag before it is written (at most 4 writes a day). */
const CHECKPOINT_MS = 6 * 3600_000;

function withLatest(tracker: GapTracker, punches: SeenPunch[]): GapTracker {
  const latest = [tracker.latestAt ?? "", ...punches.map((p) => p.attTimeNormalized)].sort().at(-1);
  return latest ? { ...tracker, latestAt: latest } : tracker;
}

function persisted(tracker: GapTracker): GapTracker {
  return {
    ...tracker,
    persistedTop: Object.fromEntries(tracker.series.map((s) => [s.epoch, s.top])),
    ...(tracker.latestAt ? { persistedLatestAt: tracker.latestAt } : {}),
  };
}

const inFlight = (command: CommandRequest, nowMs: number, config: GapConfig) => ({
  id: command.id ?? "",
  holdsUntil: new Date(nowMs + Math.min((command.ttlSeconds ?? 0) * 1000, config.maxBackoffMs)).toISOString(),
});

export function emptyTracker(sn: string, firstSightAt: string): GapTracker {
  return { sn, firstSightAt, series: [], gaps: [], persistedTop: {}, version: 0 };
}

/**
 * One pass over a device: what was stored and reported since the last pass, merged into its tracker.
 * Pure: the caller reads the punches, sends what this returns, and writes the tracker if `persist`.
 */
export function reconcile(before: GapTracker, input: ReconcileInput, config: GapConfig): ReconcileResult {
  const now = new Date(input.nowMs).toISOString();
  let tracker = withLatest(mergePunches(before, input.punches, now), input.punches);
  for (const report of input.reports) tracker = mergeReport(tracker, report, now);
  const advanced = advanceGaps(tracker.gaps, input.nowMs, config, input.resendPending);
  const decision = decideDrift(
    tracker.drift,
    sampleOffset(input.punches, input.reports, tracker.drift, config),
    input.nowMs,
    config,
  );
  tracker = { ...tracker, gaps: advanced.gaps, ...(decision.drift ? { drift: decision.drift } : {}) };
  const events = advanced.changes.map((change) => gapMessage(before.sn, change, now));
  if (decision.announce && decision.drift)
    events.push(driftMessage(before.sn, decision.drift, config.driftThresholdMs, now));
  const commands = advanced.backfills.map((request) => resendCommand(before.sn, request, input.nowMs));
  if (commands.length)
    tracker = { ...tracker, resends: commands.map((c) => inFlight(c, input.nowMs, config)) };
  if (decision.setTime && decision.drift) commands.push(setTimeCommand(before.sn, decision.drift, now));
  const persistReason = whyPersist(before, tracker, config);
  if (persistReason) tracker = persisted(tracker);
  const suspects = findSuspects(input.punches, tracker.firstSightAt, config);
  return {
    tracker,
    persist: persistReason !== undefined,
    ...(persistReason ? { persistReason } : {}),
    events,
    commands,
    suspects,
  };
}

/**
 * Whether the gaps changed in a way worth a write: a written gap changed or went, or a gap appeared that
 * the next pass would not find again. A pending gap between stored punches is found again (the next pass
 * reads from the written top), with the same detection time; a tail gap is not, nor one already asked for.
 */
function gapsChanged(before: Gap[], after: Gap[]): boolean {
  const key = (gap: Gap) => `${gap.epoch}/${gap.from}`;
  const afterByKey = new Map(after.map((gap) => [key(gap), gap]));
  if (before.some((gap) => !isDeepStrictEqual(gap, afterByKey.get(key(gap))))) return true;
  const written = new Set(before.map(key));
  return after.some(
    (gap) =>
      !written.has(key(gap)) && (gap.status !== "pending" || gap.source === "tail" || gap.attempts > 0),
  );
}

export type PersistReason = "first" | "checkpoint" | "gaps" | "drift" | "top";

/**
 * The write rule that keeps the tracker under 0.1 write units per punch: written when a gap or the
 * drift changed, a counter started a new epoch, or the top number grew by `persistEvery` since the
 * last write. Between writes the stored top lags; the next pass reads those punches again (reads are
 * what a lag costs, never a false gap).
 */
function whyPersist(before: GapTracker, after: GapTracker, config: GapConfig): PersistReason | undefined {
  // A device without numbers needs its reading start written, else every pass reads a week back. One
  // with numbers is written by the rules below like any other: until then a pass reads its few punches
  // again (its top counts from 0), and a new device that loses nothing costs no write for a while.
  if (before.version === 0 && after.series.length === 0)
    return after.latestAt !== undefined ? "first" : undefined;
  // Devices without numbers: where to read from moves on at most every few hours of punches.
  if (
    after.latestAt &&
    atMs(after.latestAt) - atMs(before.persistedLatestAt ?? after.latestAt) >= CHECKPOINT_MS
  )
    return "checkpoint";
  if (gapsChanged(before.gaps, after.gaps)) return "gaps";
  if (driftChanged(before.drift, after.drift, config)) return "drift";
  const grown = after.series.some((s) => {
    const written = before.persistedTop[s.epoch] ?? (before.version === 0 ? 0 : undefined);
    return written === undefined || s.top - written >= config.persistEvery;
  });
  return grown ? "top" : undefined;
}
