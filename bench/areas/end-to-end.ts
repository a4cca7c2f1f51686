import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { mapWithConcurrency } from "../../functions/core/concurrency.ts";
import { percentiles, runCommands } from "../../local/simulator/commands.ts";
import { SimulatedDevice } from "../../local/simulator/device.ts";
import { progressBar } from "../../local/simulator/progress.ts";
import { countFannedOut, countStored } from "../../local/simulator/readback.ts";
import { runSimulation, type SimulationOptions, type SimulationReport } from "../../local/simulator/run.ts";
import type { LocalStack } from "../../local/stack.ts";
import type { Area } from "../lib/report.ts";
import { waitUntilSettled } from "../settle.ts";

/** Generous on purpose: a busy 2-core machine is slow, and only a final count may be called a mismatch. */
const SETTLE = { timeoutMs: 600_000, quietMs: 60_000 };
const COMMANDS_TIMEOUT_MS = 300_000;

type Clients = { dynamodb: DynamoDBClient; sqs: SQSClient };

/**
 * Punches through the whole local stack: MQTT devices → aedes → the EMQX stand-in's rules → the ingest
 * over HTTP → DynamoDB Local + fauxqs, read back until the counts are complete or stop moving.
 */
export async function endToEnd(stack: LocalStack, clients: Clients): Promise<Area> {
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
  const report = await settled(await runSimulation(simulation), simulation);
  const rate = report.unique / (report.publishSeconds + report.settleSeconds);
  const exact = report.stored === report.unique && report.fannedOut === report.unique;
  return {
    id: "end-to-end",
    title: "End to end through the local stack (MQTT → EMQX stand-in → ingest → DynamoDB Local + fauxqs)",
    rows: [
      {
        figure: "punches stored / unique (50 devices × 40, 20 % sent twice)",
        value: `${report.stored} / ${report.unique}`,
        goal: "all, once",
        met: report.stored === report.unique,
      },
      {
        figure: "punches fanned out / unique",
        value: `${report.fannedOut} / ${report.unique}`,
        goal: "all",
        met: report.fannedOut === report.unique,
      },
      { figure: "rate held, publish to all stored and fanned out", value: `${rate.toFixed(0)} punches/s` },
    ],
    notes: [
      "The local ceiling is the stand-ins' (one DynamoDB Local JVM, fauxqs and the ingest in this process, 2 cores), not Lambda's.",
    ],
    failures: exact ? [] : [`stored ${report.stored}, fanned out ${report.fannedOut} of ${report.unique}`],
    data: { report, rate },
  };
}

/** Commands through the API, the FIFO queue, the publisher, EMQX's bulk API and the devices' acks. */
export async function commands(stack: LocalStack): Promise<Area> {
  const devices = Array.from(
    { length: 20 },
    (_, i) => new SimulatedDevice(`BENCH-${i}`, stack.endpoints.mqtt),
  );
  await mapWithConcurrency(devices, 20, (d) => d.connect());
  try {
    const api = { url: stack.endpoints.api, key: stack.apiKeys[0] as string };
    const before = { ...stack.publisherStats };
    const burst = await runCommands(api, devices, 10, COMMANDS_TIMEOUT_MS, progressBar("commands    ", 200));
    const calls = stack.publisherStats.emqxCalls - before.emqxCalls;
    const batches = stack.publisherStats.batches - before.batches;
    const messages = stack.publisherStats.messages - before.messages;
    const single = await oneByOne(api, devices[0] as SimulatedDevice, 20);
    const unfinished = burst.byStatus["not final"] ?? 0;
    const perBatch = calls / Math.max(batches, 1);
    const statuses = Object.entries(burst.byStatus)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    return {
      id: "commands",
      title: "Commands (API → FIFO → publisher → EMQX bulk publish → device → ack)",
      rows: [
        {
          figure: "burst: 20 devices × 10 commands",
          value: statuses,
          goal: "all final",
          met: unfinished === 0,
        },
        {
          figure: "devices with their commands in order",
          value: `${burst.inOrder}/${devices.length}`,
          goal: "all",
          met: burst.inOrder === devices.length,
        },
        {
          figure: "EMQX calls per SQS batch",
          value: `${perBatch.toFixed(2)} (${calls} calls, ${batches} batches, ${(messages / Math.max(batches, 1)).toFixed(2)} messages per batch)`,
          goal: "1",
          met: perBatch <= 1,
        },
        {
          figure: "burst, enqueue → final, p50 / p95",
          value: `${percentiles(burst.latenciesMs).p50} / ${percentiles(burst.latenciesMs).p95} ms`,
        },
        {
          figure: "one at a time, enqueue → acked, p50 / p95",
          value: `${percentiles(single).p50} / ${percentiles(single).p95} ms`,
        },
      ],
      notes: [
        "fauxqs hands out at most one message per FIFO group per receive (SQS gives Lambda up to ten), so local batches are small and burst latency is the stand-in's.",
      ],
      failures: [
        ...(unfinished ? [`${unfinished} commands never reached a final status`] : []),
        ...(burst.inOrder === devices.length
          ? []
          : [`${devices.length - burst.inOrder} devices got commands out of order`]),
      ],
      data: { burst: { ...burst, latenciesMs: undefined }, calls, batches, messages, singleMs: single },
    };
  } finally {
    await mapWithConcurrency(devices, 20, (d) => d.disconnect());
  }
}

async function oneByOne(api: { url: string; key: string }, device: SimulatedDevice, count: number) {
  const latencies: number[] = [];
  const progress = progressBar("one-by-one  ", count);
  for (let i = 0; i < count; i++) {
    const run = await runCommands(api, [device], 1, 10_000);
    latencies.push(...run.latenciesMs);
    progress(i + 1);
  }
  return latencies;
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
