import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../functions/adapters/sqs/client.ts";
import { startDynamoDbLocal } from "../local/services/dynamodb-local.ts";
import { startLocalStack } from "../local/stack.ts";
import { coldStart } from "./areas/cold-start.ts";
import { commands, endToEnd } from "./areas/end-to-end.ts";
import { feedLatency } from "./areas/feed.ts";
import { httpThroughput } from "./areas/http.ts";
import { ingestVsFloor } from "./areas/ingest-floor.ts";
import { JOB_EXECUTIONS, jobFanout } from "./areas/jobs.ts";
import { mqttRequests } from "./areas/mqtt-requests.ts";
import { requestsPerOperation } from "./areas/requests.ts";
import { computeCost, RESULTS_FILE } from "./cost.ts";
import { createFixture, type Fixture } from "./lib/fixture.ts";
import { rerunOnLambdaNode } from "./lib/lambda-node.ts";
import { type Area, formatArea, type Results, writeResults } from "./lib/report.ts";
import { startSqsProcess } from "./lib/sqs-process.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** `npm run bench -- --quick`: fewer samples, for a first look (the figures are noisier). */
const quick = process.argv.includes("--quick");
const SIZES = quick
  ? { ingestPairs: 200, coldSamples: 3, http: { rounds: 2, seconds: 2, connections: 16, warmup: 2 } }
  : { ingestPairs: 2000, coldSamples: 25, http: { rounds: 6, seconds: 3, connections: 16, warmup: 8 } };

/**
 * `npm run bench -- --only cold-start` (or `--only ingest`, `--only http`): that area alone (no local stack; the ingest on
 * DynamoDB Local and an SQS stand-in only), printed and not written to
 * bench/results/latest.json, which stays the full run of record.
 */
const ONLY_AREAS = {
  "cold-start": () => coldStart(SIZES.coldSamples),
  ingest: () => withStandIns((fixture) => ingestVsFloor(fixture, SIZES.ingestPairs)),
  http: () => withStandIns((fixture, endpoints) => httpThroughput(fixture, endpoints, SIZES.http)),
} as const;
const onlyIndex = process.argv.indexOf("--only");
const only = onlyIndex >= 0 ? process.argv[onlyIndex + 1] : undefined;

/**
 * `npm run bench`: one table per area, each figure a ratio measured side by side in this run with its
 * goal and whether it was met; the same in bench/results/latest.json (which `npm run cost` prices).
 * Exits 1 only when a correctness check fails (a punch lost or doubled, a command unfinished, a wrong
 * answer); a missed timing goal is reported, never an error.
 */
async function main(): Promise<void> {
  const started = Date.now();
  const areas: Area[] = [];
  const step = async (label: string, run: () => Promise<Area>) => {
    console.error(`\n== ${label}`);
    try {
      const area = await run();
      areas.push(area);
      console.log(`\n${formatArea(area)}`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      areas.push({ id: label, title: label, rows: [], failures: [`crashed: ${message}`] });
      console.error(`${label} failed: ${message}`);
    }
  };

  await step("cold start", () => coldStart(SIZES.coldSamples));
  console.error("\nstarting the local stack (DynamoDB Local, fauxqs, MQTT, the EMQX stand-in, the apps)...");
  const stack = await startLocalStack({ ports: {}, logLevel: "SILENT", log: () => undefined });
  // The in-process measurements get an SQS stand-in of their own, out of this process.
  const sqsProcess = await startSqsProcess();
  const endpoints = { dynamodb: stack.endpoints.dynamodb, sqs: sqsProcess.endpoint };
  const aws = { region: "us-east-1", credentials: LOCAL_CREDENTIALS, requestTimeoutMs: 10_000 };
  const clients = {
    dynamodb: createDynamoDbClient({ ...aws, endpoint: endpoints.dynamodb }),
    sqs: createSqsClient({ ...aws, endpoint: stack.endpoints.sqs }),
  };
  const fixture = await createFixture(endpoints);
  try {
    await step("warm ingest vs the floor", () => ingestVsFloor(fixture, SIZES.ingestPairs));
    await step("AWS requests per operation", () =>
      requestsPerOperation(fixture, {
        url: stack.endpoints.emqxApi,
        key: stack.emqxApiKey,
        secret: stack.emqxApiSecret,
        mqttUrl: stack.endpoints.mqtt,
      }),
    );
    await step("HTTP throughput", () => httpThroughput(fixture, endpoints, SIZES.http));
    await step("end to end", () => endToEnd(stack, clients));
    await step("commands", () => commands(stack));
    await step("job fan-out", () =>
      jobFanout(stack, JOB_EXECUTIONS[process.argv.includes("--jobs-full") ? "full" : "short"]),
    );
    await step("fleet feed", () => feedLatency(stack));
    await step("API over MQTT vs REST", () => mqttRequests(stack));
  } finally {
    fixture.destroy();
    sqsProcess.stop();
    clients.dynamodb.destroy();
    clients.sqs.destroy();
    await stack.stop();
  }
  const results: Results = {
    startedAt: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    machine: {
      node: process.version,
      cpus: cpus().length,
      platform: process.platform,
      loadAverage: loadavg(),
    },
    areas,
  };
  await step("cost per million", async () => computeCost(results));
  results.seconds = Math.round((Date.now() - started) / 1000);
  writeResults(RESULTS_FILE, results);
  const failures = areas.flatMap((area) => (area.failures ?? []).map((f) => `${area.title}: ${f}`));
  const missed = areas.flatMap((area) => area.rows.filter((r) => r.met === false).map((r) => r.figure));
  console.log(
    `\nbench took ${results.seconds} s; goals missed: ${missed.length}; results in bench/results/latest.json`,
  );
  reconnectStorm();
  if (failures.length) {
    console.error(`bench: CORRECTNESS FAILURES (exit 1):\n- ${failures.join("\n- ")}`);
    process.exitCode = 1;
  }
}

/**
 * The reconnect storm of broker logins, in a process (and stack) of its own so its 2,000 clients do not
 * share a process with the figures above; `--quick` storms 500 devices. `--no-storm` skips it.
 */
function reconnectStorm(): void {
  if (process.argv.includes("--no-storm")) return;
  console.error("\nreconnect storm (bench/reconnect-storm.ts, authentication only)...");
  const devices = quick ? "500" : "2000";
  // On this process's Node: Lambda's, like every other area.
  const args = ["--import", "tsx", "bench/reconnect-storm.ts", "--without-rule-events", "--devices", devices];
  const run = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (run.status !== 0) console.error(`reconnect storm exited ${run.status}; its figures are missing`);
}

/** One area on DynamoDB Local and an SQS stand-in of its own, without the rest of the stack (`--only`). */
async function withStandIns(
  run: (fixture: Fixture, endpoints: { dynamodb: string; sqs: string }) => Promise<Area>,
): Promise<Area> {
  const dynamodb = await startDynamoDbLocal();
  const sqs = await startSqsProcess();
  const endpoints = { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint };
  const fixture = await createFixture(endpoints);
  try {
    return await run(fixture, endpoints);
  } finally {
    fixture.destroy();
    sqs.stop();
    await dynamodb.stop();
  }
}

/** The one area `--only` names, alone; exits 1 when it crashed or a correctness check failed. */
async function runOnly(name: string): Promise<void> {
  const area = ONLY_AREAS[name as keyof typeof ONLY_AREAS];
  if (!area) throw new Error(`--only takes one of: ${Object.keys(ONLY_AREAS).join(", ")}`);
  const result = await area();
  console.log(`\n${formatArea(result)}`);
  if (result.failures?.length) process.exitCode = 1;
}

async function start(): Promise<void> {
  const status = await rerunOnLambdaNode();
  if (status !== undefined) process.exit(status);
  await (only === undefined ? main() : runOnly(only));
}

start().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? error.stack : error}`);
  process.exit(1);
});
