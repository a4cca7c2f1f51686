import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import type { LocalStack } from "../../local/stack.ts";
import { deviceLogin, eventually, startTestStack } from "../support/local-stack.ts";
import { userReads } from "../support/user-reads.ts";

let stack: LocalStack;
let dynamodb: ReturnType<typeof createDynamoDbClient>;
let sqs: ReturnType<typeof createSqsClient>;
const received: FanoutMessage[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  const aws = { region: "us-east-1", credentials: LOCAL_CREDENTIALS };
  dynamodb = createDynamoDbClient({ ...aws, endpoint: stack.endpoints.dynamodb });
  sqs = createSqsClient({ ...aws, endpoint: stack.endpoints.sqs });
});
afterAll(async () => {
  dynamodb.destroy();
  sqs.destroy();
  await stack.stop();
});

/** What the operations API reads: a device's attendance and presence, a day's quarantine. */
const reads = () => userReads({ dynamodb, tableName: stack.tableName });

async function drain(): Promise<FanoutMessage[]> {
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.eventsQueueUrl, MaxNumberOfMessages: 10 }),
    );
    if (Messages.length === 0) return received;
    received.push(...Messages.map((m) => JSON.parse(m.Body ?? "{}") as FanoutMessage));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: stack.eventsQueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

const connectDevice = (sn: string) =>
  mqtt.connectAsync(stack.endpoints.mqtt, {
    clientId: sn,
    ...deviceLogin(stack, sn),
    protocolVersion: 4, // aedes speaks MQTT 3.1.1 only
    reconnectPeriod: 0,
    will: { topic: `api/mqtt/v1/${sn}/st`, payload: Buffer.from('{"online":false}'), qos: 1, retain: false },
  });

describe("MQTT device → aedes → EMQX stand-in → ingest → DynamoDB + SQS", () => {
  it("stores a punch once and fans it out once, though the device sends it twice", async () => {
    const device = await connectDevice("E2E-1");
    const punch = JSON.stringify({
      user_id: "42",
      att_time: "2026-11-22 08:30:00",
      att_state: 0,
      temp: 36.6,
    });
    await device.publishAsync("api/mqtt/v1/E2E-1/evt", punch, { qos: 1 });
    await device.publishAsync("api/mqtt/v1/E2E-1/evt", punch, { qos: 1 });
    await stack.emqx.idle();
    const stored = await reads().attendance("E2E-1");
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ userId: "42", attState: 0, extra: { temp: 36.6 }, transport: "mqtt" });
    const events = await eventually(async () => {
      const all = (await drain()).filter((e) => e.type === "attendance" && e.sn === "E2E-1");
      return all.length ? all : undefined;
    });
    expect(events).toHaveLength(1);
    expect(events[0]?.eventId).toBe(stored[0]?.eventId);
    await device.endAsync();
  });

  it("tracks presence from the broker's events and the last will", async () => {
    const device = await connectDevice("E2E-2");
    await eventually(async () => ((await reads().device("E2E-2"))?.online === true ? true : undefined));
    // A dropped connection: the broker publishes the will and a disconnect event.
    (device.stream as unknown as { destroy(): void }).destroy();
    await eventually(async () => ((await reads().device("E2E-2"))?.online === false ? true : undefined));
    await stack.emqx.idle();
    const presence = (await drain()).filter((e) => e.type === "presence" && e.sn === "E2E-2");
    expect(presence.at(-1)?.data).toMatchObject({ online: false });
    device.end(true);
  });

  it("stores and fans out every punch of a burst exactly once, though EMQX delivers them out of order", async () => {
    const devices = await Promise.all(["E2E-B1", "E2E-B2", "E2E-B3"].map((sn) => connectDevice(sn)));
    const sent = devices.flatMap((device, d) =>
      Array.from({ length: 10 }, (_, i) => {
        const punch = {
          user_id: String(i),
          att_time: `2026-11-22 09:${String(i).padStart(2, "0")}:00`,
          att_state: 0,
        };
        return device.publishAsync(`api/mqtt/v1/E2E-B${d + 1}/evt`, JSON.stringify(punch), { qos: 1 });
      }),
    );
    await Promise.all(sent);
    await stack.emqx.idle();
    for (const sn of ["E2E-B1", "E2E-B2", "E2E-B3"]) expect(await reads().attendance(sn)).toHaveLength(10);
    const events = await eventually(async () => {
      const burst = (await drain()).filter((e) => e.type === "attendance" && e.sn.startsWith("E2E-B"));
      return burst.length >= 30 ? burst : undefined;
    });
    expect(new Set(events.map((e) => e.eventId)).size).toBe(30);
    expect(events).toHaveLength(30);
    expect(stack.emqx.metrics()).toMatchObject({ failed: 0, droppedExpired: 0, lateReply: 0 });
    await Promise.all(devices.map((device) => device.endAsync()));
  });

  it("ends online after a device reconnects several times, whatever order the lifecycle events arrive in", async () => {
    for (let i = 0; i < 3; i++) await (await connectDevice("E2E-F1")).endAsync();
    const last = await connectDevice("E2E-F1");
    await stack.emqx.idle();
    expect(await reads().device("E2E-F1")).toMatchObject({ online: true });
    await last.endAsync();
  });

  it("does not forward bad device input to the queue and keeps it in the quarantine", async () => {
    const device = await connectDevice("E2E-3");
    await device.publishAsync("api/mqtt/v1/E2E-3/evt", "not json at all", { qos: 1 });
    await stack.emqx.idle();
    const day = new Date().toISOString().slice(0, 10);
    const rejected = await reads().quarantined(day);
    const kept = rejected.find((i) => i.sn === "E2E-3");
    expect(kept).toMatchObject({ field: "payload", status: 400, ruleId: "bridge_attendance" });
    expect(await reads().attendance("E2E-3")).toHaveLength(0);
    await device.endAsync();
  });
});
