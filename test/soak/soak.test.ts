import { describe, expect, inject, it } from "vitest";
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
      punchesPerSecond: 40,
      faults: { durationMs: [1_000, 3_000], gapMs: [1_000, 2_000], longOutageMs: 12_000 },
      maxBackoffSeconds: 1,
      // EMQX's request_ttl as emqx-rules sets it (10 min): within it, EMQX keeps retrying.
      requestTtlMs: 600_000,
      settleMs: 40_000,
    });
    console.log(formatSoakReport(report));
    expect(Object.keys(report.faults).length).toBeGreaterThan(1);
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
