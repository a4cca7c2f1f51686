import { describe, expect, it } from "vitest";
import { DEFAULT_GAP_CONFIG } from "../../functions/core/gaps/config.ts";
import { emptyTracker, reconcile } from "../../functions/core/gaps/reconcile.ts";
import type { GapTracker, SeenPunch } from "../../functions/core/gaps/types.ts";
import { readWindows } from "../../functions/core/gaps/windows.ts";

const T0 = Date.parse("2026-12-01T08:00:00.000Z");
const MIN = 60_000;
const config = DEFAULT_GAP_CONFIG;

function punch(seq: number, epoch = "0", offsetMs = 0, receivedAt = T0 + seq * MIN): SeenPunch {
  return {
    eventId: `${epoch}-${seq}`,
    attTimeNormalized: new Date(T0 + seq * MIN + offsetMs).toISOString(),
    receivedAt: new Date(receivedAt).toISOString(),
    seq,
    epoch,
    userId: "u1",
    attState: 0,
  };
}

const seqs = (list: number[], epoch?: string) => list.map((n) => punch(n, epoch));

/** Runs passes at the given times with the punches stored by then (a pass reads them all). */
function passes(steps: Array<{ at: number; punches: SeenPunch[] }>, start?: GapTracker) {
  let tracker = start ?? emptyTracker("SN1", new Date(T0).toISOString());
  const all = [];
  for (const step of steps) {
    const result = reconcile(tracker, { punches: step.punches, reports: [], nowMs: step.at }, config);
    tracker = result.persist ? { ...result.tracker, version: tracker.version + 1 } : { ...tracker };
    all.push(result);
  }
  return { tracker, results: all };
}

describe("gap tracking", () => {
  it("writes nothing per punch when nothing is missing: one write per 20 numbers", () => {
    let tracker = emptyTracker("SN1", new Date(T0).toISOString());
    let writes = 0;
    const stored: SeenPunch[] = [];
    for (let n = 1; n <= 100; n++) {
      stored.push(punch(n));
      const result = reconcile(tracker, { punches: stored, reports: [], nowMs: T0 + n * MIN }, config);
      expect(result.events).toEqual([]);
      if (result.persist) {
        writes++;
        tracker = { ...result.tracker, version: tracker.version + 1 };
      }
    }
    expect(writes).toBeLessThanOrEqual(100 / config.persistEvery);
    expect(tracker.gaps).toEqual([]);
  });

  it("writes nothing for a new device's first 19 numbers when none is missing; its 20th is written", () => {
    const stored: SeenPunch[] = [];
    const results = [];
    for (let n = 1; n <= 20; n++) {
      stored.push(punch(n));
      results.push(passes([{ at: T0 + n * MIN, punches: stored }]).results[0]);
    }
    expect(results.map((r) => r?.persist)).toEqual([...Array(19).fill(false), true]);
  });

  it("still writes a new device without numbers at once (else every pass reads a week back)", () => {
    const unnumbered = { ...punch(1), seq: undefined };
    const { results } = passes([{ at: T0 + 2 * MIN, punches: [unnumbered] }]);
    expect(results[0]).toMatchObject({ persist: true, persistReason: "first" });
  });

  it("keeps a skipped number pending through the grace period, then opens it and asks for a resend", () => {
    const { results, tracker } = passes([
      { at: T0 + 5 * MIN, punches: seqs([1, 2, 4, 5]) },
      { at: T0 + 10 * MIN, punches: seqs([1, 2, 4, 5]) },
      { at: T0 + 21 * MIN, punches: seqs([1, 2, 4, 5]) },
    ]);
    expect(results[0]?.events).toEqual([]);
    expect(results[1]?.commands).toEqual([]);
    expect(results[2]?.events.map((e) => e.type)).toEqual(["gap_opened"]);
    expect(results[2]?.commands.map((c) => [c.op, c.data])).toEqual([
      ["resend", { from_seq: 3, to_seq: 3, seq_epoch: "0", ranges: [[3, 3]] }],
    ]);
    expect(tracker.gaps[0]).toMatchObject({ status: "open", from: 3, to: 3, attempts: 1 });
  });

  it("asks for a number skipped later with the first gap's resend: one command, not one per gap", () => {
    const { results, tracker } = passes([
      { at: T0 + 5 * MIN, punches: seqs([1, 2, 4, 5]) },
      { at: T0 + 15 * MIN, punches: seqs([1, 2, 4, 5, 6, 8, 9]) },
      { at: T0 + 21 * MIN, punches: seqs([1, 2, 4, 5, 6, 8, 9]) },
      { at: T0 + 26 * MIN, punches: seqs([1, 2, 4, 5, 6, 8, 9]) },
      { at: T0 + 27 * MIN, punches: seqs([1, 2, 3, 4, 5, 6, 7, 8, 9]) },
    ]);
    expect(results.map((r) => r.commands.map((c) => c.data?.ranges))).toEqual([
      [],
      [],
      [
        [
          [3, 3],
          [7, 7],
        ],
      ],
      [],
      [],
    ]);
    // Number 7 is announced only once its own grace period is over, and closes like the other.
    expect(results.map((r) => r.events.map((e) => `${e.type} ${e.data.from_seq}`))).toEqual([
      [],
      [],
      ["gap_opened 3"],
      ["gap_opened 7"],
      ["gap_closed 3", "gap_closed 7"],
    ]);
    expect(tracker.gaps.map((g) => g.status)).toEqual(["closed", "closed"]);
  });

  it("lets a number asked for early go without a word when EMQX delivers it within the grace period", () => {
    const { results, tracker } = passes([
      { at: T0 + 5 * MIN, punches: seqs([1, 2, 4, 5]) },
      { at: T0 + 15 * MIN, punches: seqs([1, 2, 4, 5, 6, 8, 9]) },
      { at: T0 + 21 * MIN, punches: seqs([1, 2, 4, 5, 6, 8, 9]) },
      { at: T0 + 22 * MIN, punches: seqs([1, 2, 4, 5, 6, 7, 8, 9]) },
    ]);
    expect(results[3]?.events).toEqual([]);
    expect(tracker.gaps.map((g) => [g.from, g.status])).toEqual([[3, "open"]]);
  });

  it("forgets a number that arrives within the grace period (late, not lost): no event", () => {
    const { results, tracker } = passes([
      { at: T0 + 5 * MIN, punches: seqs([1, 2, 4]) },
      { at: T0 + 6 * MIN, punches: seqs([1, 2, 3, 4]) },
      { at: T0 + 30 * MIN, punches: seqs([1, 2, 3, 4]) },
    ]);
    expect(results.flatMap((r) => r.events)).toEqual([]);
    expect(tracker.gaps).toEqual([]);
  });

  it("closes an open gap when the backfilled punch arrives, with a deterministic event id", () => {
    const steps = [
      { at: T0 + 5 * MIN, punches: seqs([1, 2, 4]) },
      { at: T0 + 21 * MIN, punches: seqs([1, 2, 4]) },
      { at: T0 + 22 * MIN, punches: seqs([1, 2, 3, 4]) },
    ];
    const first = passes(steps);
    const again = passes(steps);
    const closed = first.results[2]?.events ?? [];
    expect(closed.map((e) => [e.type, e.data.status])).toEqual([["gap_closed", "closed"]]);
    expect(closed[0]?.eventId).toBe(again.results[2]?.events[0]?.eventId);
    expect(first.tracker.gaps[0]).toMatchObject({ status: "closed", missing: [] });
  });

  it("backs off between attempts and gives up after the limit: gap_unrecoverable stays visible", () => {
    const stored = seqs([1, 3]);
    let tracker = emptyTracker("SN1", new Date(T0).toISOString());
    const kinds: string[] = [];
    let resends = 0;
    for (let minute = 5; minute < 60 * 24; minute += 5) {
      const result = reconcile(tracker, { punches: stored, reports: [], nowMs: T0 + minute * MIN }, config);
      kinds.push(...result.events.map((e) => e.type));
      resends += result.commands.length;
      if (result.persist) tracker = { ...result.tracker, version: tracker.version + 1 };
    }
    expect(resends).toBe(config.maxAttempts);
    expect(kinds).toEqual(["gap_opened", "gap_unrecoverable"]);
    expect(tracker.gaps[0]?.status).toBe("unrecoverable");
  });

  it("takes a new epoch (a counter reset) for a new series, not a gap", () => {
    const { results } = passes([
      { at: T0 + 5 * MIN, punches: seqs([1, 2, 3, 4, 5], "a") },
      { at: T0 + 40 * MIN, punches: [...seqs([1, 2, 3, 4, 5], "a"), ...seqs([1, 2], "b")] },
    ]);
    const tracker = results[1]?.tracker;
    expect(results.flatMap((r) => r.events)).toEqual([]);
    expect(tracker?.gaps).toEqual([]);
    expect(tracker?.series.map((s) => [s.epoch, s.top])).toEqual([
      ["a", 5],
      ["b", 2],
    ]);
  });

  it("finds a tail gap from a heartbeat's last_seq", () => {
    const tracker = emptyTracker("SN1", new Date(T0).toISOString());
    const report = { sn: "SN1", receivedAt: T0 + 6 * MIN, lastSeq: 7 };
    const first = reconcile(
      tracker,
      { punches: seqs([1, 2, 3, 4, 5]), reports: [report], nowMs: T0 + 6 * MIN },
      config,
    );
    expect(first.tracker.gaps).toMatchObject([{ from: 6, to: 7, source: "tail", status: "pending" }]);
    const later = reconcile(
      { ...first.tracker, version: 1 },
      { punches: seqs([1, 2, 3, 4, 5]), reports: [], nowMs: T0 + 25 * MIN },
      config,
    );
    expect(later.commands.map((c) => c.data)).toEqual([
      { from_seq: 6, to_seq: 7, seq_epoch: "0", ranges: [[6, 7]] },
    ]);
  });

  it("finds the punches lost just before a counter reset from the heartbeat's prev_last_seq", () => {
    const tracker = emptyTracker("SN1", new Date(T0).toISOString());
    const stored = [...seqs([1, 2, 3], "a"), ...seqs([1, 2], "b")];
    const report = {
      sn: "SN1",
      receivedAt: T0 + 6 * MIN,
      lastSeq: 2,
      epoch: "b",
      previous: { epoch: "a", lastSeq: 5 },
    };
    const first = reconcile(tracker, { punches: stored, reports: [report], nowMs: T0 + 6 * MIN }, config);
    expect(first.tracker.gaps).toMatchObject([{ epoch: "a", from: 4, to: 5, source: "tail" }]);
    const later = reconcile(
      { ...first.tracker, version: 1 },
      { punches: stored, reports: [], nowMs: T0 + 25 * MIN },
      config,
    );
    expect(later.commands.map((c) => c.data)).toEqual([
      { from_seq: 4, to_seq: 5, seq_epoch: "a", ranges: [[4, 5]] },
    ]);
  });

  it.each([
    ["an epoch it has not seen (it never asks for a whole unknown epoch)", "a"],
    ["the current epoch (a firmware slip, not a reset)", "b"],
  ])("ignores prev_last_seq naming %s", (_, previousEpoch) => {
    const tracker = emptyTracker("SN1", new Date(T0).toISOString());
    const previous = { epoch: previousEpoch, lastSeq: 900 };
    const report = { sn: "SN1", receivedAt: T0, lastSeq: 2, epoch: "b", previous };
    const result = reconcile(
      tracker,
      { punches: seqs([1, 2], "b"), reports: [report], nowMs: T0 + 6 * MIN },
      config,
    );
    expect(result.tracker.gaps).toEqual([]);
  });

  it("reads again from the written top, not the latest one, when writes were skipped", () => {
    const first = seqs(Array.from({ length: 20 }, (_, i) => i + 1));
    const { tracker } = passes([{ at: T0 + 21 * MIN, punches: first }]);
    expect(tracker.version).toBe(1);
    const skipped = reconcile(
      tracker,
      { punches: [...first, ...seqs([21, 22])], reports: [], nowMs: T0 + 23 * MIN },
      config,
    );
    expect(skipped.persist).toBe(false);
    const [main] = readWindows(tracker, T0 + 24 * MIN, config);
    expect(main?.from).toBe(new Date(T0 + 20 * MIN - config.windowSlackMs).toISOString());
  });
});
