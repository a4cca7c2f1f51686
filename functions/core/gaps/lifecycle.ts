import { chunks, countOf } from "./ranges.ts";
import type { Gap, GapConfig, SeqRange } from "./types.ts";

export type GapEventType = "gap_opened" | "gap_closed" | "gap_unrecoverable";

export interface GapChange {
  type: GapEventType;
  gap: Gap;
}

/** One resend command to send: a range of one gap, at this attempt. */
export interface BackfillRequest {
  gap: Gap;
  range: SeqRange;
  attempt: number;
}

/** Resend commands one gap may have in flight at once (a gap of 10,000 is asked for over several attempts). */
const PIECES_PER_ATTEMPT = 4;

/**
 * Moves each gap along at `now`: a filled gap closes (announced only if it was announced open; a pending
 * one just goes), a pending gap past the grace period opens and asks for its punches, an open gap whose
 * backoff ran out asks again or, out of attempts, becomes `unrecoverable`.
 */
export function advanceGaps(gaps: Gap[], nowMs: number, config: GapConfig) {
  const changes: GapChange[] = [];
  const backfills: BackfillRequest[] = [];
  const now = new Date(nowMs).toISOString();
  const kept: Gap[] = [];
  for (const gap of gaps) {
    const next = advanceOne(gap, nowMs, now, config, changes, backfills);
    if (next) kept.push(next);
  }
  return { gaps: pruneClosed(kept, config.closedKept), changes, backfills };
}

function advanceOne(
  gap: Gap,
  nowMs: number,
  now: string,
  config: GapConfig,
  changes: GapChange[],
  backfills: BackfillRequest[],
): Gap | undefined {
  if (gap.status === "closed") return gap;
  if (countOf(gap.missing) === 0) {
    if (gap.status === "pending") return undefined;
    return announce(changes, "gap_closed", { ...gap, status: "closed", closedAt: now });
  }
  let current = gap;
  if (current.status === "pending") {
    if (nowMs - Date.parse(current.detectedAt) < config.graceMs) return current;
    current = announce(changes, "gap_opened", {
      ...current,
      status: "open",
      openedAt: now,
      nextAttemptAt: now,
    });
  }
  if (current.status !== "open" || Date.parse(current.nextAttemptAt ?? now) > nowMs) return current;
  if (current.attempts >= config.maxAttempts) {
    return announce(changes, "gap_unrecoverable", { ...current, status: "unrecoverable" });
  }
  const attempt = current.attempts + 1;
  const wait = Math.min(config.maxBackoffMs, config.backoffMs * 2 ** (attempt - 1));
  const asked = { ...current, attempts: attempt, nextAttemptAt: new Date(nowMs + wait).toISOString() };
  const pieces = current.missing
    .flatMap((range) => chunks(range, config.maxResend))
    .slice(0, PIECES_PER_ATTEMPT);
  for (const range of pieces) backfills.push({ gap: asked, range, attempt });
  return asked;
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
