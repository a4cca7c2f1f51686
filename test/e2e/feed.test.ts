/**
 * The fleet feed end to end: a device punches over MQTT → EMQX stand-in → ingest → SNS FIFO topic →
 * the users' events queue and the feed queue → the feed publisher → EMQX's bulk publish API →
 * `fleet/v1/{sn}/{type}` → apps logged in with an API key, over TCP and over WebSocket.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbApiKeyStore } from "../../functions/adapters/dynamodb/api-key-store.ts";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { newApiKey, type Scope } from "../../functions/core/api-keys.ts";
import type { LocalStack } from "../../local/stack.ts";
import { deviceLogin, eventually, startTestStack } from "../support/local-stack.ts";

let stack: LocalStack;
let dynamodb: ReturnType<typeof createDynamoDbClient>;
let sqs: ReturnType<typeof createSqsClient>;
const clients: MqttClient[] = [];
/** Every events-queue body read so far, by eventId (the queue is drained as the tests go). */
const onEventsQueue = new Map<string, string>();
/** The same bodies in the order the queue gave them (per device, its FIFO group order). */
const eventsQueueOrder: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  const aws = { region: "us-east-1", credentials: LOCAL_CREDENTIALS };
  dynamodb = createDynamoDbClient({ ...aws, endpoint: stack.endpoints.dynamodb });
  sqs = createSqsClient({ ...aws, endpoint: stack.endpoints.sqs });
});
afterEach(() => {
  for (const client of clients.splice(0)) client.end(true);
});
afterAll(async () => {
  dynamodb.destroy();
  sqs.destroy();
  await stack.stop();
});

/** A stored API key with `scopes`; the app logs in with username = its name, password = the key. */
async function appLogin(name: string, scopes: Scope[]): Promise<IClientOptions> {
  const { key, record } = newApiKey(name, scopes);
  await new DynamoDbApiKeyStore(dynamodb, stack.tableName).put(record);
  return { username: name, password: key };
}

async function connect(url: string, clientId: string, options: IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    ...options,
  });
  clients.push(client);
  return client;
}

/** Payloads an app receives, by topic, in arrival order. */
function collect(client: MqttClient): Array<{ topic: string; payload: string; retain: boolean }> {
  const got: Array<{ topic: string; payload: string; retain: boolean }> = [];
  client.on("message", (topic, payload, packet) =>
    got.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  return got;
}

const connectDevice = (sn: string) => connect(stack.endpoints.mqtt, sn, deviceLogin(stack, sn));

const punch = (user: string, minute: number) =>
  JSON.stringify({
    user_id: user,
    att_time: `2026-12-02 08:${String(minute).padStart(2, "0")}:00`,
    att_state: 0,
  });

/** Reads (and deletes) what is on the users' events queue now, keeping each body by eventId. */
async function readEventsQueue(): Promise<void> {
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.eventsQueueUrl, MaxNumberOfMessages: 10 }),
    );
    if (Messages.length === 0) return;
    for (const m of Messages) {
      onEventsQueue.set(JSON.parse(m.Body ?? "{}").eventId, m.Body ?? "");
      eventsQueueOrder.push(m.Body ?? "");
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: stack.eventsQueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

const isAttendanceOf = (body: string, sn: string) => {
  const message = JSON.parse(body) as { sn?: string; type?: string };
  return message.sn === sn && message.type === "attendance";
};

const attendanceOf = (got: Array<{ topic: string; payload: string }>, sn: string) =>
  got.filter((m) => m.topic === `fleet/v1/${sn}/attendance`).map((m) => m.payload);

describe("the fleet feed on the broker", () => {
  it("gives apps over TCP and WebSocket every punch with the same eventId and body as the events queue, in order", async () => {
    const login = await appLogin("feed-dashboard", ["read"]);
    const tcp = await connect(stack.endpoints.mqtt, "feed-dashboard/tcp", login);
    const ws = await connect(stack.endpoints.mqttWs, "feed-dashboard/ws", login);
    const [overTcp, overWs] = [collect(tcp), collect(ws)];
    await tcp.subscribeAsync("fleet/v1/+/attendance", { qos: 1 });
    await ws.subscribeAsync("fleet/v1/+/attendance", { qos: 1 });

    const device = await connectDevice("FEED-1");
    for (const minute of [1, 2, 3])
      await device.publishAsync("api/mqtt/v1/FEED-1/evt", punch("7", minute), { qos: 1 });

    const feed = await eventually(async () => {
      const got = attendanceOf(overTcp, "FEED-1");
      return got.length === 3 && attendanceOf(overWs, "FEED-1").length === 3 ? got : undefined;
    }, 20_000);
    expect(attendanceOf(overWs, "FEED-1")).toEqual(feed);
    await eventually(async () => {
      await readEventsQueue();
      return feed.every((body) => onEventsQueue.has(JSON.parse(body).eventId)) ? true : undefined;
    });
    // Same bytes as on the users' queue, in the device's order there (its FIFO group).
    const queued = eventsQueueOrder.filter((body) => isAttendanceOf(body, "FEED-1"));
    expect(feed).toEqual(queued);
  });

  it("keeps presence retained: a dashboard that subscribes late sees the device's current state", async () => {
    const early = await connect(
      stack.endpoints.mqtt,
      "feed-early/watch",
      await appLogin("feed-early", ["read"]),
    );
    const live = collect(early);
    await early.subscribeAsync("fleet/v1/FEED-2/presence", { qos: 1 });
    await connectDevice("FEED-2");
    const published = await eventually(
      async () => live.find((m) => JSON.parse(m.payload).data.online),
      20_000,
    );
    // Subscribing after the fact: what arrives is the retained state, flagged so.
    const late = await connect(
      stack.endpoints.mqtt,
      "feed-late/watch",
      await appLogin("feed-late", ["read"]),
    );
    const retained = collect(late);
    await late.subscribeAsync("fleet/v1/+/presence", { qos: 1 });
    const current = await eventually(async () =>
      retained.find((m) => m.topic === "fleet/v1/FEED-2/presence"),
    );
    expect(current.retain).toBe(true);
    expect(current.payload).toBe(published.payload);
    expect(JSON.parse(current.payload)).toMatchObject({
      type: "presence",
      sn: "FEED-2",
      data: { online: true },
    });
    expect(JSON.parse(current.payload).data.version).toBeGreaterThan(0);
  });

  it("lets no app without read scope subscribe to the feed", async () => {
    const tool = await connect(
      stack.endpoints.mqtt,
      "feed-tool/cli",
      await appLogin("feed-tool", ["commands"]),
    );
    const granted = await tool
      .subscribeAsync("fleet/v1/#", { qos: 1 })
      .then((grants) => grants[0]?.qos)
      .catch((error: { packet?: { granted?: number[] } }) => error.packet?.granted?.[0]);
    expect(granted).toBe(128);
  });

  it("catches up after EMQX's publish API answered 503, and never held back the users' events queue", async () => {
    const app = await connect(
      stack.endpoints.mqtt,
      "feed-outage/app",
      await appLogin("feed-outage", ["read"]),
    );
    const got = collect(app);
    await app.subscribeAsync("fleet/v1/FEED-3/attendance", { qos: 1 });
    const device = await connectDevice("FEED-3");
    stack.emqx.setPublishFailure(503);
    try {
      const callsBefore = stack.feedStats.emqxCalls;
      await device.publishAsync("api/mqtt/v1/FEED-3/evt", punch("9", 5), { qos: 1 });
      // The users' queue has the punch while EMQX refuses every publish...
      const eventId = await eventually(async () => {
        await readEventsQueue();
        return [...onEventsQueue.entries()].find(([, body]) => isAttendanceOf(body, "FEED-3"))?.[0];
      }, 20_000);
      // ...and the feed has tried and failed: nothing reached the app yet.
      await eventually(async () => (stack.feedStats.emqxCalls > callsBefore + 1 ? true : undefined), 20_000);
      expect(attendanceOf(got, "FEED-3")).toEqual([]);
      stack.emqx.setPublishFailure(null);
      const caughtUp = await eventually(async () => attendanceOf(got, "FEED-3")[0], 20_000);
      expect(JSON.parse(caughtUp).eventId).toBe(eventId);
      expect(caughtUp).toBe(onEventsQueue.get(eventId));
    } finally {
      stack.emqx.setPublishFailure(null);
    }
  });
});
