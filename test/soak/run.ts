/**
 * `npm run soak`: at least 10,000 punches plus commands through the local stack's real pieces (MQTT devices,
 * the EMQX stand-in, the ingest, DynamoDB Local, the SQS stand-in, the API, the publisher) while faults are
 * injected at random, then a table of what was lost. SOAK_DEVICES (50), SOAK_PUNCHES per device (200),
 * SOAK_COMMANDS per device (10), SOAK_RATE punches/s (60). Exits 1 when anything was lost.
 */
import { startDynamoDbLocal } from "../../local/services/dynamodb-local.ts";
import { startSqsLocal } from "../../local/services/sqs-local.ts";
import { formatSoakReport, runSoak, soakPassed } from "./harness.ts";
import { mainLose } from "./lose-run.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const number = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

async function main(): Promise<number> {
  const devices = number("SOAK_DEVICES", 50);
  const punchesPerDevice = number("SOAK_PUNCHES", 200);
  const commandsPerDevice = number("SOAK_COMMANDS", 10);
  const punchesPerSecond = number("SOAK_RATE", 60);
  console.error(
    `soak: ${devices} devices × (${punchesPerDevice} punches + ${commandsPerDevice} commands) at ${punchesPerSecond} punches/s, faults at random`,
  );
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  try {
    const report = await runSoak({
      dynamodbEndpoint: dynamodb.endpoint,
      sqsEndpoint: sqs.endpoint,
      devices,
      punchesPerDevice,
      commandsPerDevice,
      dupRate: 0.1,
      punchesPerSecond,
      // Faults of 2-20 s with 3-10 s between; the one long EMQX API outage outlasts the receive budget (~20 s).
      faults: { durationMs: [2_000, 20_000], gapMs: [3_000, 10_000], longOutageMs: 40_000 },
      maxBackoffSeconds: 2,
      // EMQX's request_ttl as emqx-rules sets it (10 min).
      requestTtlMs: 600_000,
      settleMs: 180_000,
      progress: true,
    });
    console.log(formatSoakReport(report));
    const ok = soakPassed(report);
    console.log(ok ? "OK: nothing lost, stored twice, left unsent or reordered" : "FAILED");
    return ok ? 0 : 1;
  } finally {
    await Promise.all([dynamodb.stop(), sqs.stop()]);
  }
}

/** `--lose 5%` (or `--lose=5%`): the no-punch-lost soak (test/soak/lose-run.ts) instead. */
function loseArgument(argv: string[]): string | undefined {
  const index = argv.findIndex((arg) => arg === "--lose" || arg.startsWith("--lose="));
  if (index < 0) return undefined;
  const arg = argv[index] as string;
  return arg.includes("=") ? arg.slice("--lose=".length) : (argv[index + 1] ?? "5%");
}

const lose = loseArgument(process.argv.slice(2));
(lose === undefined ? main() : mainLose(lose)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
