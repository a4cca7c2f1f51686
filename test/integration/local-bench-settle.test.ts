import { describe, expect, it } from "vitest";
import { type Counts, verdict, waitUntilSettled } from "../../bench/settle.ts";
import type { SimulationReport } from "../../local/simulator/run.ts";

/** A reader that returns these counts one after the other (the last one from then on), on a fake clock. */
function scripted(counts: Counts[]) {
  let clock = 0;
  let reads = 0;
  return {
    read: async () => counts[Math.min(reads++, counts.length - 1)] as Counts,
    clock: {
      now: () => clock,
      sleep: async (ms: number) => {
        clock += ms;
      },
    },
    reads: () => reads,
  };
}

const options = { timeoutMs: 600_000, quietMs: 60_000, pollMs: 2_000 };

describe("npm run bench waits for the counts to settle", () => {
  it("waits for a fan-out that lags behind the store", async () => {
    const run = scripted([
      { stored: 2000, fannedOut: 1500 },
      { stored: 2000, fannedOut: 1800 },
      { stored: 2000, fannedOut: 2000 },
    ]);
    const result = await waitUntilSettled(run.read, 2000, { ...options, ...run.clock });
    expect(result).toEqual({ stored: 2000, fannedOut: 2000, complete: true, reason: "complete" });
  });

  it("keeps waiting while the counts move, however slowly", async () => {
    const counts = Array.from({ length: 100 }, (_, i) => ({ stored: 2000, fannedOut: 1900 + i }));
    const run = scripted([...counts, { stored: 2000, fannedOut: 2000 }]);
    const result = await waitUntilSettled(run.read, 2000, { ...options, ...run.clock });
    expect(result.complete).toBe(true);
  });

  it("calls counts that stopped moving short of the goal final", async () => {
    const run = scripted([{ stored: 2000, fannedOut: 1990 }]);
    const result = await waitUntilSettled(run.read, 2000, { ...options, ...run.clock });
    expect(result).toEqual({ stored: 2000, fannedOut: 1990, complete: false, reason: "stable" });
    expect(run.reads()).toBe(1 + options.quietMs / options.pollMs);
  });

  it("gives up at the time limit when the counts never stop moving", async () => {
    const run = scripted(Array.from({ length: 1000 }, (_, i) => ({ stored: i, fannedOut: i })));
    const result = await waitUntilSettled(run.read, 5000, { ...options, ...run.clock });
    expect(result.reason).toBe("timeout");
  });
});

describe("npm run bench exits non-zero on a real mismatch", () => {
  const report = (stored: number, fannedOut: number) =>
    ({ unique: 2000, stored, fannedOut }) as SimulationReport;

  it("exits 0 when every punch is stored and fanned out once and every command ended", () => {
    expect(verdict(report(2000, 2000), { byStatus: { acked: 180, failed: 20 } })).toBe(0);
  });

  it.each([
    [1990, 2000],
    [2000, 1990],
    [2001, 2001],
  ])("exits 1 when stored = %i and fanned out = %i of 2000", (stored, fannedOut) => {
    expect(verdict(report(stored, fannedOut), { byStatus: { acked: 200 } })).toBe(1);
  });

  it("exits 1 when a command never reached a final status", () => {
    expect(verdict(report(2000, 2000), { byStatus: { acked: 199, "not final": 1 } })).toBe(1);
  });
});
