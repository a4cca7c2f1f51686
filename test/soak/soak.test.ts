import { describe, expect, inject, it } from "vitest";
import { FAULTS, LONG_EMQX_OUTAGE } from "./faults.ts";
import { formatSoakReport, runSoak, type SoakReport } from "./harness.ts";

/**
 * The CI-sized soak: 320 punches and 32 commands through the local stack's real pieces while DynamoDB,
 * SQS, the ingest and EMQX's publish API fail at random (and EMQX's API once for longer than the
 * commands queue's receive budget, compressed to ~10 s). `npm run soak` runs the same with 10,000+.
 */
describe("soak (CI size)", () => {
  let report: SoakReport;

  it("gets every punch and command through random faults", { timeout: 150_000 }, async () => {
    report = await runSoak({
      dynamodbEndpoint: inject("dynamodbEndpoint"),
      sqsEndpoint: inject("sqsEndpoint"),
      devices: 8,
      punchesPerDevice: 40,
      commandsPerDevice: 4,
      dupRate: 0.1,
      // 40 s of traffic; one round of every fault fits in at most 0.8 + 12 + 9 × 2.3 = 33.5 s of it.
      punchesPerSecond: 8,
      faults: { durationMs: [500, 1_500], gapMs: [300, 800], longOutageMs: 12_000 },
      maxBackoffSeconds: 1,
      // EMQX's request_ttl as emqx-rules sets it (10 min): within it, EMQX keeps retrying.
      requestTtlMs: 600_000,
      settleMs: 40_000,
    });
    console.log(formatSoakReport(report));
    expect(Object.keys(report.faults).sort()).toEqual(
      [...FAULTS.map((f) => f.name), LONG_EMQX_OUTAGE].sort(),
    );
    expect(report.uniquePunches).toBe(320);
  });

  it("loses no punch and stores none twice", ({ skip }) => {
    if (!report) skip();
    expect({ lost: report.lost, storedTwice: report.storedTwice }).toEqual({ lost: 0, storedTwice: 0 });
  });

  it("fans out every stored punch", ({ skip }) => {
    if (!report) skip();
    expect(report.notFannedOut).toBe(0);
  });

  it("acks every command, in order per device", ({ skip }) => {
    if (!report) skip();
    expect({ statuses: report.commandStatuses, outOfOrder: report.outOfOrder }).toEqual({
      statuses: { acked: 32 },
      outOfOrder: 0,
    });
  });
});
