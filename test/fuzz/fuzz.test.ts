import { describe, expect, inject, it } from "vitest";
import { runFuzz } from "./harness.ts";
import { type FuzzReport, formatReport } from "./report.ts";

/** Memory the process may gain while the fuzz runs (the full run uses the same bound). */
const RSS_GROWTH_LIMIT_MB = 256;

/**
 * The CI-sized fuzz: a few hundred generated bad inputs (and a 64 MB streamed body to each route that takes one) against the
 * ingest and the API over real HTTP. `npm run fuzz` runs the same with at least 10,000.
 * FUZZ_SEED repeats a run; the seed of a failing run is in the printed table.
 */
describe("fuzz (CI size)", () => {
  let report: FuzzReport;

  it("answers every generated bad input by the rules", { timeout: 120_000 }, async () => {
    report = await runFuzz({
      dynamodbEndpoint: inject("dynamodbEndpoint"),
      sqsEndpoint: inject("sqsEndpoint"),
      runs: Number(process.env.FUZZ_CI_RUNS ?? 600),
      seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31),
      concurrency: 8,
      giantBytes: 64 * 1024 * 1024,
      giantBodies: 4,
    });
    console.log(formatReport(report));
    expect(report.total.inputs).toBeGreaterThanOrEqual(600);
    expect(report.failures.map((f) => `${f.count} × ${f.kind}: ${f.examples[0]}`)).toEqual([]);
  });

  it("never answers 5xx, and answers every input", ({ skip }) => {
    if (!report) skip();
    expect(report.total.failed5xx).toBe(0);
    expect(report.total.noAnswer).toBe(0);
  });

  it("quarantines every rejected EMQX and device message", ({ skip }) => {
    if (!report) skip();
    expect(report.total.quarantined).toBe(report.total.mustQuarantine);
  });

  it("fans out every punch it stored", ({ skip }) => {
    if (!report) skip();
    expect(report.notFannedOut).toEqual([]);
  });

  it("keeps memory bounded while bodies of 64 MB stream in", ({ skip }) => {
    if (!report) skip();
    expect(report.rss.peakMb - report.rss.baselineMb).toBeLessThanOrEqual(RSS_GROWTH_LIMIT_MB);
  });
});
