import { mapWithConcurrency } from "../concurrency.ts";
import type { Clock, EventQueue } from "../ports.ts";
import type { CommandRequest } from "../schemas/command.ts";
import type { DeviceLister, DeviceReportSource, GapStore, PunchReader } from "./ports.ts";
import { emptyTracker, reconcile } from "./reconcile.ts";
import type { DeviceReport, GapConfig, GapTracker, SeenPunch } from "./types.ts";
import { readWindows } from "./windows.ts";

export interface GapRunDeps {
  gaps: GapStore;
  punches: PunchReader;
  devices: DeviceLister;
  reports?: DeviceReportSource;
  events: EventQueue;
  /** The existing create-command path (idempotent on the request's id). */
  sendCommand(sn: string, request: CommandRequest): Promise<void>;
  /** Whether the command is still on its way or unanswered (not acked, failed or expired). */
  commandPending?(sn: string, id: string): Promise<boolean>;
  clock: Clock;
  config: GapConfig;
}

export interface GapRunStats {
  devices: number;
  trackerWrites: number;
  events: number;
  commands: number;
  suspects: number;
  reports: number;
  /** Events sent, by metric name: `GapsOpened`, `GapsClosed`, `GapsUnrecoverable`, `ClockDrift`. */
  byType: Record<string, number>;
  /** Devices whose reconcile failed this pass (a store or queue outage); redone next pass. */
  failed: number;
  /** Tracker writes by why they were made (`first`, `gaps`, `drift`, `top`, `checkpoint`). */
  writesFor: Record<string, number>;
  /** Commands sent, by `op`. */
  commandsByOp: Record<string, number>;
}

/** Figures of a pass that has done nothing yet. */
export function noGapRunStats(): GapRunStats {
  return {
    devices: 0,
    trackerWrites: 0,
    events: 0,
    commands: 0,
    suspects: 0,
    reports: 0,
    byType: {},
    failed: 0,
    writesFor: {},
    commandsByOp: {},
  };
}

const bump = (counts: Record<string, number>, name: string) => {
  counts[name] = (counts[name] ?? 0) + 1;
};

const METRIC_OF: Record<string, string> = {
  gap_opened: "GapsOpened",
  gap_closed: "GapsClosed",
  gap_unrecoverable: "GapsUnrecoverable",
  clock_drift: "ClockDrift",
};

/** Devices reconciled at once: enough to hide latency, few enough not to throttle the table. */
const CONCURRENCY = 8;
/** Heartbeat reports taken per pass; the rest wait for the next one. */
const REPORTS_PER_PASS = 1_000;

/**
 * One pass of the gap tracker (a schedule runs it: EventBridge on AWS, a timer locally): takes the
 * waiting heartbeat reports, reconciles every device, and only then removes the reports.
 */
export async function runGapTracker(deps: GapRunDeps): Promise<GapRunStats> {
  const taken = deps.reports ? await deps.reports.take(REPORTS_PER_PASS) : undefined;
  const bySn = new Map<string, DeviceReport[]>();
  for (const report of taken?.reports ?? []) bySn.set(report.sn, [...(bySn.get(report.sn) ?? []), report]);
  const sns = new Set(bySn.keys());
  for await (const sn of deps.devices.listDevices()) sns.add(sn);
  const failedSns = new Set<string>();
  const stats: GapRunStats = { ...noGapRunStats(), devices: sns.size, reports: taken?.reports.length ?? 0 };
  await mapWithConcurrency([...sns], CONCURRENCY, (sn) =>
    reconcileDevice(deps, sn, bySn.get(sn) ?? [], stats).catch(() => {
      stats.failed++;
      failedSns.add(sn);
    }),
  );
  await taken?.done(failedSns);
  return stats;
}

/**
 * Reads, reconciles, acts, then writes. The commands and events go first: their ids are derived from the
 * gap and attempt, so a pass that dies before its write is redone by the next one as a replay.
 */
export async function reconcileDevice(
  deps: GapRunDeps,
  sn: string,
  reports: DeviceReport[],
  stats: GapRunStats,
): Promise<void> {
  const nowMs = deps.clock.now().getTime();
  const stored = await deps.gaps.get(sn);
  const punches = await deps.punches.read(sn, readWindows(stored, nowMs, deps.config));
  if (!stored && punches.length === 0 && reports.length === 0) return;
  const before = stored ?? emptyTracker(sn, firstSight(punches, reports, nowMs));
  const resendPending = await lastResendPending(deps, before, nowMs);
  const result = reconcile(before, { punches, reports, nowMs, resendPending }, deps.config);
  for (const command of result.commands) await deps.sendCommand(sn, command);
  if (result.events.length) await deps.events.send(result.events);
  for (const { punch, reason } of result.suspects) await deps.punches.flagSuspect(sn, punch, reason);
  stats.commands += result.commands.length;
  for (const command of result.commands) bump(stats.commandsByOp, command.op);
  stats.events += result.events.length;
  for (const event of result.events) bump(stats.byType, METRIC_OF[event.type] ?? event.type);
  stats.suspects += result.suspects.length;
  // A concurrent pass that wrote first did the same work; this one's changes are redone next time.
  if (result.persistReason && (await deps.gaps.save(result.tracker))) {
    stats.trackerWrites++;
    bump(stats.writesFor, result.persistReason);
  }
}

/**
 * Whether a resend of the last wave is still unanswered: asked only while a gap waits for a new wave and
 * the resend has not expired, so a device that loses nothing costs no read for it.
 */
async function lastResendPending(deps: GapRunDeps, tracker: GapTracker, nowMs: number): Promise<boolean> {
  if (!deps.commandPending || !tracker.gaps.some((gap) => gap.status === "open" || gap.status === "pending"))
    return false;
  const alive = (tracker.resends ?? []).filter((r) => Date.parse(r.holdsUntil) > nowMs);
  for (const resend of alive) if (await deps.commandPending(tracker.sn, resend.id)) return true;
  return false;
}

function firstSight(punches: SeenPunch[], reports: DeviceReport[], nowMs: number): string {
  const times = [...punches.map((p) => Date.parse(p.receivedAt)), ...reports.map((r) => r.receivedAt), nowMs];
  return new Date(Math.min(...times)).toISOString();
}
