/**
 * `npm run fuzz`: at least 10,000 generated bad inputs against the ingest (EMQX's rule events and the HTTP
 * device routes) and the API, over real HTTP, on a DynamoDB Local and an SQS stand-in of its own.
 * FUZZ_RUNS (default 10000), FUZZ_SEED (default: random, printed), FUZZ_GIANT_MB (default 200).
 * Exits 1 when any input broke a rule (see judge.ts) or memory grew past FUZZ_RSS_LIMIT_MB (default 256).
 */
import { startDynamoDbLocal } from "../../local/services/dynamodb-local.ts";
import { startSqsLocal } from "../../local/services/sqs-local.ts";
import { runFuzz } from "./harness.ts";
import { formatReport } from "./report.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const number = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number`);
  return value;
};

async function main(): Promise<number> {
  const runs = number("FUZZ_RUNS", 10_000);
  const seed = number("FUZZ_SEED", Math.floor(Math.random() * 2 ** 31));
  const rssLimitMb = number("FUZZ_RSS_LIMIT_MB", 256);
  const giantBytes = number("FUZZ_GIANT_MB", 200) * 1024 * 1024;
  console.error(
    `fuzz: ${runs} inputs + 4 bodies (one per route with a body) of ${giantBytes / 1024 / 1024} MB, seed ${seed} (FUZZ_SEED=${seed} repeats it)`,
  );
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  try {
    const report = await runFuzz({
      dynamodbEndpoint: dynamodb.endpoint,
      sqsEndpoint: sqs.endpoint,
      runs,
      seed,
      giantBytes,
      giantBodies: 4,
      progress: true,
    });
    console.log(formatReport(report));
    const grew = report.rss.peakMb - report.rss.baselineMb;
    const ok = report.total.failing === 0 && report.notFannedOut.length === 0 && grew <= rssLimitMb;
    console.log(
      ok
        ? "OK: every input answered by the rules"
        : `FAILED${grew > rssLimitMb ? ` (memory grew ${grew} MB > ${rssLimitMb} MB)` : ""}`,
    );
    return ok ? 0 : 1;
  } finally {
    await Promise.all([dynamodb.stop(), sqs.stop()]);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
