import { describe, expect, inject, it } from "vitest";
import { formatLoseReport, type LoseSoakReport, runLoseSoak } from "./lose.ts";

const SECOND = 1_000;

/**
 * The CI-sized `npm run soak -- --lose 5%`: 30 devices, 600 numbered punches, 5 % dropped by the EMQX
 * stand-in after its ack, counters reset on some devices, clocks 10 minutes off on others. The tracker's
 * times are compressed (grace 3 s, backoff 2 s, a pass every second); the clock threshold is not.
 */
describe("soak --lose (CI size)", () => {
  let report: LoseSoakReport;

  it("finds every lost punch and has it resent", { timeout: 90_000 }, async () => {
    report = await runLoseSoak({
      dynamodbEndpoint: inject("dynamodbEndpoint"),
      sqsEndpoint: inject("sqsEndpoint"),
      devices: 30,
      punchesPerDevice: 20,
      lose: 0.05,
      resetShare: 0.2,
      skewShare: 0.2,
      skewMs: 10 * 60 * SECOND,
      punchesPerSecond: 60,
      heartbeatMs: 2 * SECOND,
      trackerIntervalMs: SECOND,
      tracker: {
        graceMs: 3 * SECOND,
        backoffMs: 2 * SECOND,
        maxBackoffMs: 8 * SECOND,
        setTimeCooldownMs: 5 * SECOND,
      },
      settleMs: 40 * SECOND,
    });
    console.log(formatLoseReport(report));
    expect(report.made).toBe(600);
    expect(report.droppedInTransit).toBeGreaterThan(0);
    expect({ stillMissing: report.stillMissing, falseGaps: report.falseGaps }).toEqual({
      stillMissing: 0,
      falseGaps: 0,
    });
  });

  it("sets the skewed clocks, one clock_drift episode each (a corrected clock does not start another)", ({
    skip,
  }) => {
    if (!report) skip();
    expect(report.setTimeSent).toBeGreaterThanOrEqual(6);
    expect(report.clockDriftEvents).toBe(6);
  });
});
