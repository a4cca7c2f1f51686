import { startDynamoDbLocal } from "../../local/services/dynamodb-local.ts";
import { startSqsLocal } from "../../local/services/sqs-local.ts";
import { formatLoseReport, runLoseSoak } from "./lose.ts";

const SECOND = 1_000;

/**
 * `npm run soak -- --lose 5%`: LOSE_DEVICES (200) devices × LOSE_PUNCHES (25) numbered punches at
 * LOSE_RATE (150/s), the given share dropped by the EMQX stand-in, counters reset on 10 % of the
 * devices, clocks 10 minutes off on another 10 %. The tracker's grace period and backoff are compressed
 * to seconds (production: 15 minutes, docs/emqx.md); a pass runs every 2 s. Exits 1 unless nothing is
 * missing and no gap was false.
 */
export async function mainLose(lose: string): Promise<number> {
  const share = Number(lose.replace("%", "")) / (lose.endsWith("%") ? 100 : 1);
  if (!(share >= 0 && share < 1)) throw new Error("--lose takes a share such as 5% or 0.05");
  const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  try {
    const report = await runLoseSoak({
      dynamodbEndpoint: dynamodb.endpoint,
      sqsEndpoint: sqs.endpoint,
      devices: env("LOSE_DEVICES", 200),
      punchesPerDevice: env("LOSE_PUNCHES", 25),
      lose: share,
      resetShare: 0.1,
      skewShare: 0.1,
      skewMs: 10 * 60 * SECOND,
      punchesPerSecond: env("LOSE_RATE", 150),
      heartbeatMs: 5 * SECOND,
      trackerIntervalMs: 2 * SECOND,
      tracker: {
        graceMs: 5 * SECOND,
        backoffMs: 4 * SECOND,
        maxBackoffMs: 15 * SECOND,
        setTimeCooldownMs: 10 * SECOND,
      },
      settleMs: 180 * SECOND,
      progress: true,
    });
    console.log(formatLoseReport(report));
    const ok = report.stillMissing === 0 && report.falseGaps === 0;
    console.log(ok ? "OK: every lost punch recovered, no false gap" : "FAILED");
    return ok ? 0 : 1;
  } finally {
    await Promise.all([dynamodb.stop(), sqs.stop()]);
  }
}
