import { countOf } from "./ranges.ts";
import type { Gap, GapConfig, SeqRange } from "./types.ts";

export type GapEventType = "gap_opened" | "gap_closed" | "gap_unrecoverable";

export interface GapChange {
  type: GapEventType;
  gap: Gap;
}

/** One resend command to send: every range of one epoch due in this pass, in one command. */
export interface BackfillRequest {
  epoch: string;
  ranges: SeqRange[];
  /** Identifies the wave: the gaps asked for and their attempt numbers. */
  wave: string;
  /** When the next attempt is due: the command expires then. */
  until: string;
}

/**
 * Moves each gap along at `now`: a filled gap closes (announced only if it was announced open; a pending
 * one just goes), a pending gap past the grace period opens and asks for its punches, an open gap whose
 * backoff ran out asks again or, out of attempts, becomes `unrecoverable`.
 */
export function advanceGaps(gaps: Gap[], nowMs: number, config: GapConfig, hold = false) {
  const changes: GapChange[] = [];
  const now = new Date(nowMs).toISOString();
  // One wave per device: when one gap is due, every open gap is asked for with it, in one command per
  // epoch, so a device that lost several punches costs one command, not one per gap. Numbers skipped
  // between stored punches but still in their grace period go with it too: a command costs several
  // writes, a number resent that EMQX delivers after all costs one failed conditional write.
  // `hold`: the last wave's resend is still on its way or unanswered; what is due waits for it.
  const wave = !hold && gaps.some((gap) => isDue(gap, nowMs, config));
  const kept: Gap[] = [];
  for (const gap of gaps) {
    const next = advanceOne(gap, nowMs, now, config, changes, wave);
    if (next) kept.push(next);
  }
  const asked = kept.filter((gap) => gap.status !== "closed" && gap.lastAskedAt === now);
  return { gaps: pruneClosed(kept, config.closedKept), changes, backfills: backfillsOf(asked, config) };
}

/** Past its grace period (a pending gap) and not asked for, or its backoff ran out. */
function isDue(gap: Gap, nowMs: number, config: GapConfig): boolean {
  if (countOf(gap.missing) === 0) return false;
  if (gap.status !== "pending" && gap.status !== "open") return false;
  if (gap.status === "pending" && nowMs - Date.parse(gap.detectedAt) < config.graceMs) return false;
  return gap.nextAttemptAt === undefined || Date.parse(gap.nextAttemptAt) <= nowMs;
}

/** A skipped number still in its grace period, not asked for yet: it goes with a wave. */
const askedEarly = (gap: Gap, wave: boolean) => wave && gap.source === "seq" && gap.attempts === 0;

function backfillsOf(asked: Gap[], config: GapConfig): BackfillRequest[] {
  const byEpoch = new Map<string, Gap[]>();
  for (const gap of asked) byEpoch.set(gap.epoch, [...(byEpoch.get(gap.epoch) ?? []), gap]);
  return [...byEpoch].map(([epoch, ofEpoch]) => {
    const ranges = firstNumbers(
      ofEpoch.flatMap((gap) => gap.missing).sort((a, b) => a[0] - b[0]),
      config.maxResend,
    );
    const wave = ofEpoch.map((gap) => `${gap.from}-${gap.to}@${gap.attempts}`).join(",");
    const until = ofEpoch.map((gap) => gap.nextAttemptAt ?? "").sort()[0] ?? "";
    return { epoch, ranges, wave, until };
  });
}

/** The first `limit` numbers of `ranges`: a long loss is asked for over several attempts. */
function firstNumbers(ranges: SeqRange[], limit: number): SeqRange[] {
  const taken: SeqRange[] = [];
  let left = limit;
  for (const [from, to] of ranges) {
    if (left <= 0) break;
    const end = Math.min(to, from + left - 1);
    taken.push([from, end]);
    left -= end - from + 1;
  }
  return taken;
}

function advanceOne(
  gap: Gap,
  nowMs: number,
  now: string,
  config: GapConfig,
  changes: GapChange[],
  wave: boolean,
): Gap | undefined {
  if (gap.status === "closed") return gap;
  if (countOf(gap.missing) === 0) {
    if (gap.status === "pending") return undefined;
    return announce(changes, "gap_closed", { ...gap, status: "closed", closedAt: now });
  }
  let current = gap;
  if (current.status === "pending") {
    if (nowMs - Date.parse(current.detectedAt) < config.graceMs)
      return askedEarly(current, wave) ? ask(current, nowMs, now, config) : current;
    current = announce(changes, "gap_opened", {
      ...current,
      status: "open",
      openedAt: now,
      // Asked for within its grace period: the next attempt waits for that one's backoff.
      nextAttemptAt: current.nextAttemptAt ?? now,
    });
  }
  if (current.status !== "open") return current;
  if (current.attempts >= config.maxAttempts) {
    if (Date.parse(current.nextAttemptAt ?? now) > nowMs) return current;
    return announce(changes, "gap_unrecoverable", { ...current, status: "unrecoverable" });
  }
  return wave ? ask(current, nowMs, now, config) : current;
}

function ask(gap: Gap, nowMs: number, now: string, config: GapConfig): Gap {
  const attempt = gap.attempts + 1;
  const wait = Math.min(config.maxBackoffMs, config.backoffMs * 2 ** (attempt - 1));
  return { ...gap, attempts: attempt, nextAttemptAt: new Date(nowMs + wait).toISOString(), lastAskedAt: now };
}

function announce(changes: GapChange[], type: GapEventType, gap: Gap): Gap {
  changes.push({ type, gap });
  return gap;
}

/** Closed gaps stay visible for a while: the newest `kept` of them. */
function pruneClosed(gaps: Gap[], kept: number): Gap[] {
  const closed = gaps
    .filter((g) => g.status === "closed")
    .sort((a, b) => (b.closedAt ?? "").localeCompare(a.closedAt ?? ""));
  const dropped = new Set(closed.slice(kept));
  return gaps.filter((g) => !dropped.has(g));
}
