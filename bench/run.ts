import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../functions/adapters/sqs/client.ts";
import { mapWithConcurrency } from "../functions/core/concurrency.ts";
import { percentiles, runCommands } from "../local/simulator/commands.ts";
import { SimulatedDevice } from "../local/simulator/device.ts";
import { progressBar } from "../local/simulator/progress.ts";
import { countFannedOut, countStored } from "../local/simulator/readback.ts";
import {
  formatReport,
  runSimulation,
  type SimulationOptions,
  type SimulationReport,
} from "../local/simulator/run.ts";
import { startLocalStack } from "../local/stack.ts";
import { verdict, waitUntilSettled } from "./settle.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** Generous on purpose: a busy 2-core machine is slow, and only a final count may be called a mismatch. */
const SETTLE = { timeoutMs: 600_000, quietMs: 60_000 };
const COMMANDS_TIMEOUT_MS = 300_000;

/**
 * `npm run bench`: the whole local stack on random ports, then three workloads, each printed as a table.
 * Figures are for this machine and the stand-ins; they compare runs and changes, not AWS. Exits 1 when a
 * punch is missing or doubled once the counts have settled, or a command never reached a final status.
 */
async function main(): Promise<void> {
  const started = Date.now();
  console.error("starting the local stack...");
  const stack = await startLocalStack({ ports: {}, logLevel: "SILENT", log: () => undefined });
  const aws = { region: "us-east-1", credentials: LOCAL_CREDENTIALS, requestTimeoutMs: 10_000 };
  const clients = {
    dynamodb: createDynamoDbClient({ ...aws, endpoint: stack.endpoints.dynamodb }),
    sqs: createSqsClient({ ...aws, endpoint: stack.endpoints.sqs }),
  };
  try {
    console.error("\n1/3 ingest: 50 devices x 40 punches, 20 % sent twice");
    const simulation: SimulationOptions = {
      devices: 50,
      punches: 40,
      dupRate: 0.2,
      mqttUrl: stack.endpoints.mqtt,
      tableName: stack.tableName,
      eventsQueue: stack.eventsQueueUrl.split("/").pop() ?? "",
      clients,
      settleTimeoutMs: SETTLE.timeoutMs,
    };
    const ingest = await settled(await runSimulation(simulation), simulation);
    console.log(`\n## Ingest (MQTT → EMQX stand-in → ingest → DynamoDB + SQS)\n${formatReport(ingest)}`);
    console.log(
      `ratio stored / unique: ${(ingest.stored / ingest.unique).toFixed(3)}  (1.000 = exactly once)`,
    );
    console.log(
      `end-to-end rate: ${(ingest.unique / (ingest.publishSeconds + ingest.settleSeconds)).toFixed(0)} punches/s`,
    );

    console.error("\n2/3 commands: 20 online devices x 10 commands");
    const devices = Array.from(
      { length: 20 },
      (_, i) => new SimulatedDevice(`BENCH-${i}`, stack.endpoints.mqtt),
    );
    await mapWithConcurrency(devices, 20, (d) => d.connect());
    const api = { url: stack.endpoints.api, key: stack.apiKeys[0] as string };
    const before = { ...stack.publisherStats };
    const burst = await runCommands(api, devices, 10, COMMANDS_TIMEOUT_MS, progressBar("commands  ", 200));
    const calls = stack.publisherStats.emqxCalls - before.emqxCalls;
    const batches = stack.publisherStats.batches - before.batches;
    const messages = stack.publisherStats.messages - before.messages;
    console.log("\n## Commands, burst (API → FIFO → publisher → EMQX bulk → device → ack)");
    console.log(
      table([
        ["commands", burst.sent],
        ...Object.entries(burst.byStatus).map(([k, v]) => [`  ${k}`, v] as [string, number]),
        ["devices with commands in order", `${burst.inOrder}/${devices.length}`],
        ["latency enqueue → final p50 (ms)", percentiles(burst.latenciesMs).p50],
        ["latency enqueue → final p95 (ms)", percentiles(burst.latenciesMs).p95],
        ["SQS batches", batches],
        ["messages per batch", (messages / Math.max(batches, 1)).toFixed(2)],
        ["EMQX bulk calls", calls],
        ["EMQX calls per batch", (calls / Math.max(batches, 1)).toFixed(2)],
        ["EMQX calls per command", (calls / Math.max(burst.sent, 1)).toFixed(3)],
      ]),
    );

    console.error("\n3/3 commands: one at a time to one device");
    const single = await runCommandsOneByOne(api, devices[0] as SimulatedDevice, 20);
    console.log("\n## Commands, one at a time (latency enqueue → acked)");
    console.log(
      table([
        ["commands", single.length],
        ["p50 (ms)", percentiles(single).p50],
        ["p95 (ms)", percentiles(single).p95],
        ["max (ms)", percentiles(single).max],
      ]),
    );
    await mapWithConcurrency(devices, 20, (d) => d.disconnect());
    console.log(`\nbench took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exitCode = verdict(ingest, burst);
  } finally {
    clients.dynamodb.destroy();
    clients.sqs.destroy();
    await stack.stop();
  }
}

/**
 * The simulator reads the fan-out once, right after the last punch is stored; the queue may still be
 * filling. Read both counts again until they are complete or final.
 */
async function settled(report: SimulationReport, options: SimulationOptions): Promise<SimulationReport> {
  if (report.stored === report.unique && report.fannedOut === report.unique) return report;
  const sns = Array.from(
    { length: report.devices },
    (_, i) => `SIM-${report.runId}-${String(i + 1).padStart(3, "0")}`,
  );
  const read = async () => ({
    stored: await countStored(options.clients.dynamodb, options.tableName, sns),
    fannedOut: await countFannedOut(options.clients.sqs, options.eventsQueue, new Set(sns)),
  });
  const started = Date.now();
  const final = await waitUntilSettled(read, report.unique, {
    ...SETTLE,
    pollMs: 2_000,
    onProgress: (counts, elapsed) =>
      console.error(
        `still settling (${(elapsed / 1000).toFixed(0)} s): stored ${counts.stored}, fanned out ${counts.fannedOut} of ${report.unique}`,
      ),
  });
  if (!final.complete)
    console.error(
      `counts ${final.reason === "stable" ? "stopped moving" : "still moving at the time limit"}`,
    );
  const settleSeconds = report.settleSeconds + (Date.now() - started) / 1000;
  return { ...report, stored: final.stored, fannedOut: final.fannedOut, settleSeconds };
}

async function runCommandsOneByOne(
  api: { url: string; key: string },
  device: SimulatedDevice,
  count: number,
) {
  const latencies: number[] = [];
  const progress = progressBar("one-by-one", count);
  for (let i = 0; i < count; i++) {
    const run = await runCommands(api, [device], 1, 10_000);
    latencies.push(...run.latenciesMs);
    progress(i + 1);
  }
  return latencies;
}

function table(rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  const rule = `|${"-".repeat(width + 2)}|${"-".repeat(12)}|`;
  return [rule, ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${String(v).padStart(10)} |`), rule].join(
    "\n",
  );
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? error.stack : error}`);
  process.exit(1);
});
