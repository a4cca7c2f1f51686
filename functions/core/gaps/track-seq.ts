import { withoutSeen } from "./ranges.ts";
import type { DeviceReport, Gap, GapTracker, SeenPunch, SeqRange, SeqSeries } from "./types.ts";

/** The epoch of punches and heartbeats that name none. */
export const DEFAULT_EPOCH = "0";

/**
 * Merges what was read back from the store into the device's series and gaps: numbers that arrived
 * leave their gaps; numbers skipped below the newest one become `pending` gaps. Counting starts at 1 in
 * every epoch (the contract), so a first punch numbered 3 means 1 and 2 are missing.
 */
export function mergePunches(tracker: GapTracker, punches: SeenPunch[], now: string): GapTracker {
  let next = tracker;
  for (const [epoch, ofEpoch] of byEpoch(punches)) next = mergeEpoch(next, epoch, ofEpoch, now);
  return next;
}

function byEpoch(punches: SeenPunch[]): Map<string, SeenPunch[]> {
  const groups = new Map<string, SeenPunch[]>();
  for (const punch of punches) {
    if (punch.seq === undefined) continue;
    groups.set(punch.epoch, [...(groups.get(punch.epoch) ?? []), punch]);
  }
  return groups;
}

function mergeEpoch(tracker: GapTracker, epoch: string, punches: SeenPunch[], now: string): GapTracker {
  const atOf = new Map(punches.map((p) => [p.seq as number, p.attTimeNormalized]));
  const seen = new Set(atOf.keys());
  const gaps = tracker.gaps.map((gap) =>
    gap.epoch === epoch ? { ...gap, missing: withoutSeen(gap.missing, seen) } : gap,
  );
  const series = tracker.series.find((s) => s.epoch === epoch);
  const top = series?.top ?? 0;
  const highest = Math.max(top, ...seen);
  const skipped = uncovered([top + 1, highest - 1], gaps, epoch).flatMap((range) =>
    withoutSeen([range], seen),
  );
  const topAt = (n: number) => atOf.get(n) ?? (n === top ? series?.topAt : undefined);
  const receivedOf = new Map(punches.map((p) => [p.seq as number, p.receivedAt]));
  // Detected when the punch after it was received: derived from what is stored, so a pass that does not
  // write a pending gap finds the same one (same time) next time.
  const found = skipped.map((range) => {
    const revealedAt = receivedOf.get(range[1] + 1) ?? now;
    return newGap(epoch, range, "seq", revealedAt, topAt(range[0] - 1), atOf.get(range[1] + 1));
  });
  const lastReceivedAt = [series?.lastReceivedAt ?? "", ...punches.map((p) => p.receivedAt)]
    .sort()
    .at(-1) as string;
  const merged: SeqSeries = { epoch, top: highest, lastReceivedAt, ...optional("topAt", topAt(highest)) };
  return {
    ...tracker,
    gaps: [...gaps, ...found],
    series: [...tracker.series.filter((s) => s.epoch !== epoch), merged],
  };
}

/**
 * A heartbeat's `last_seq` above the newest number seen: the punches after it never arrived (a tail gap,
 * which no later punch would reveal). `prev_last_seq` does the same for the epoch before a counter reset,
 * but only for an epoch the tracker has seen (it never asks for a whole unknown epoch).
 */
export function mergeReport(tracker: GapTracker, report: DeviceReport, now: string): GapTracker {
  let next = tracker;
  if (report.lastSeq !== undefined)
    next = mergeTail(next, report.epoch ?? DEFAULT_EPOCH, report.lastSeq, now);
  const previous = report.previous;
  const current = report.epoch ?? DEFAULT_EPOCH;
  // The current epoch named as the previous one is a firmware slip, not a reset: its number is ignored.
  if (previous && previous.epoch !== current && next.series.some((s) => s.epoch === previous.epoch))
    next = mergeTail(next, previous.epoch, previous.lastSeq, now);
  return next;
}

function mergeTail(tracker: GapTracker, epoch: string, lastSeq: number, now: string): GapTracker {
  const series = tracker.series.find((s) => s.epoch === epoch);
  const top = series?.top ?? 0;
  const missing = uncovered([top + 1, lastSeq], tracker.gaps, epoch);
  if (missing.length === 0) return tracker;
  const found = missing.map((range) =>
    newGap(epoch, range, "tail", now, range[0] === top + 1 ? series?.topAt : undefined),
  );
  return { ...tracker, gaps: [...tracker.gaps, ...found] };
}

/** The part of `range` no gap of `epoch` already covers. */
function uncovered(range: SeqRange, gaps: Gap[], epoch: string): SeqRange[] {
  if (range[0] > range[1]) return [];
  let left: SeqRange[] = [range];
  for (const gap of gaps) {
    if (gap.epoch !== epoch) continue;
    left = left.flatMap(([a, b]) => cut([a, b], [gap.from, gap.to]));
  }
  return left;
}

function cut([a, b]: SeqRange, [c, d]: SeqRange): SeqRange[] {
  if (d < a || c > b) return [[a, b]];
  const parts: SeqRange[] = [];
  if (c > a) parts.push([a, c - 1]);
  if (d < b) parts.push([d + 1, b]);
  return parts;
}

function newGap(
  epoch: string,
  [from, to]: SeqRange,
  source: Gap["source"],
  now: string,
  afterAt: string | undefined,
  beforeAt?: string,
): Gap {
  return {
    epoch,
    from,
    to,
    missing: [[from, to]],
    status: "pending",
    source,
    detectedAt: now,
    attempts: 0,
    ...optional("afterAt", afterAt),
    ...optional("beforeAt", beforeAt),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
