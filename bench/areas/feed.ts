import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import mqtt, { type MqttClient } from "mqtt";
import { DynamoDbApiKeyStore } from "../../functions/adapters/dynamodb/api-key-store.ts";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { newApiKey } from "../../functions/core/api-keys.ts";
import { mapWithConcurrency } from "../../functions/core/concurrency.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { progressBar } from "../../local/simulator/progress.ts";
import type { LocalStack } from "../../local/stack.ts";
import type { Area } from "../lib/report.ts";
import { ms } from "../lib/report.ts";
import { percentile } from "../lib/stats.ts";

/** CI-short: 10 devices × 20 punches, each device one punch at a time (per-device order is the feed's). */
const DEVICES = 10;
const PUNCHES_PER_DEVICE = 20;
const TIMEOUT_MS = 120_000;

/**
 * The fleet feed through the local stack: a device's punch over MQTT → EMQX stand-in → ingest → SNS
 * topic (fauxqs) → feed queue → feed publisher → EMQX's bulk publish API → an app subscribed to
 * `fleet/v1/+/attendance` with an API key. Latency is device publish → app receives; the stack's
 * feed stats give EMQX calls per feed batch.
 */
export async function feedLatency(stack: LocalStack): Promise<Area> {
  const app = await connectApp(stack);
  const arrivals = new Map<string, number>();
  app.on("message", (_topic, payload) => {
    const userId = (JSON.parse(payload.toString()) as { data?: { user_id?: string } }).data?.user_id;
    if (userId) arrivals.set(userId, performance.now());
  });
  await app.subscribeAsync("fleet/v1/+/attendance", { qos: 1 });
  const devices = await mapWithConcurrency(range(DEVICES), DEVICES, (i) =>
    connectDevice(stack, `FEED-BENCH-${i}`),
  );
  const before = { ...stack.feedStats };
  const sent = new Map<string, number>();
  const progress = progressBar("feed        ", DEVICES * PUNCHES_PER_DEVICE);
  try {
    await mapWithConcurrency(devices, DEVICES, async (device, d) => {
      for (let p = 0; p < PUNCHES_PER_DEVICE; p++) {
        const userId = `fb${d}-${p}`;
        sent.set(userId, performance.now());
        await device.publishAsync(`api/mqtt/v1/FEED-BENCH-${d}/evt`, punch(userId, p), { qos: 1 });
        await until(() => arrivals.has(userId), TIMEOUT_MS);
        progress(arrivals.size);
      }
    });
  } finally {
    for (const client of [app, ...devices]) client.end(true);
  }
  return report(stack, before, sent, arrivals);
}

function report(
  stack: LocalStack,
  before: LocalStack["feedStats"],
  sent: Map<string, number>,
  arrivals: Map<string, number>,
): Area {
  const latencies = [...sent].flatMap(([id, at]) =>
    arrivals.has(id) ? [(arrivals.get(id) ?? at) - at] : [],
  );
  const batches = stack.feedStats.batches - before.batches;
  const calls = stack.feedStats.emqxCalls - before.emqxCalls;
  const messages = stack.feedStats.messages - before.messages;
  const perBatch = calls / Math.max(batches, 1);
  const missing = sent.size - latencies.length;
  return {
    id: "feed",
    title:
      "Fleet feed (device publish → SNS FIFO → feed queue → EMQX bulk publish → app on fleet/v1/+/attendance)",
    rows: [
      {
        figure: "punches received on the feed / sent",
        value: `${latencies.length} / ${sent.size}`,
        goal: "all",
        met: missing === 0,
      },
      { figure: "feed latency, device publish → app receives, p50", value: ms(percentile(latencies, 50)) },
      { figure: "feed latency, p99", value: ms(percentile(latencies, 99)) },
      {
        figure: "EMQX calls per feed batch",
        value: `${perBatch.toFixed(2)} (${calls} calls, ${batches} batches, ${(messages / Math.max(batches, 1)).toFixed(1)} messages a batch)`,
        goal: "1",
        met: perBatch <= 1,
      },
    ],
    notes: [
      `${DEVICES} devices × ${PUNCHES_PER_DEVICE} punches, each device waiting for its punch on the feed before the next: latency, not throughput.`,
      "Locally the feed queue is long-polled by a loop (1 s wait) and fauxqs hands out one message per device group at a time, so batches are small; on AWS the event source mapping batches up to 10.",
    ],
    failures: missing === 0 ? [] : [`${missing} punches never reached the feed`],
    data: { latencies, batches, calls, messages, perBatch },
  };
}

async function connectApp(stack: LocalStack): Promise<MqttClient> {
  const dynamodb = createDynamoDbClient({
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.dynamodb,
  });
  // A fresh name each run: the table may be an earlier run's.
  const name = `bench-feed-${randomBytes(4).toString("hex")}`;
  const { key, record } = newApiKey(name, ["read"]);
  try {
    await new DynamoDbApiKeyStore(dynamodb, stack.tableName).put(record);
  } finally {
    dynamodb.destroy();
  }
  return mqtt.connectAsync(stack.endpoints.mqtt, {
    clientId: `${name}/app`,
    username: name,
    password: key,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
}

function connectDevice(stack: LocalStack, sn: string): Promise<MqttClient> {
  return mqtt.connectAsync(stack.endpoints.mqtt, {
    clientId: sn,
    username: sn,
    password: deriveDeviceToken(stack.deviceTokenSecrets[0] as string, sn),
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const punch = (userId: string, p: number) =>
  JSON.stringify({
    user_id: userId,
    att_time: `2026-12-02 09:${String(p % 60).padStart(2, "0")}:00`,
    att_state: 0,
  });

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("a punch did not reach the feed in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
