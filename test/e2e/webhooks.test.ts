import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { verifyWebhook } from "../../functions/core/webhooks/signature.ts";
import { startWebhookReceiver } from "../../local/simulator/webhook-receiver.ts";
import type { LocalStack } from "../../local/stack.ts";
import { deviceLogin, eventually, startTestStack } from "../support/local-stack.ts";

const API_KEY = "e2e-webhooks-key-0123456789abcdef";
let stack: LocalStack;
let sqs: ReturnType<typeof createSqsClient>;
const cleanups: Array<() => Promise<unknown>> = [];
/** Raw bodies taken off the users' events queue, by eventId. */
const queued = new Map<string, string>();

beforeAll(async () => {
  // Retries after 0, 1 and 1 s instead of 5 s to 15 min.
  stack = await startTestStack({ apiKeys: [API_KEY], webhookRetryDelaysS: [0, 1, 1] });
  sqs = createSqsClient({
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.sqs,
  });
});
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  sqs.destroy();
  await stack.stop();
});

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.endpoints.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field.
  const answer = (await response.json()) as Record<string, any>;
  return { status: response.status, body: answer };
}

async function subscribed(request: { types: string[]; sn: string }, status?: () => number) {
  const receiver = await startWebhookReceiver(status ? { status } : {});
  cleanups.push(() => receiver.stop());
  const created = await api("POST", "/v1/webhooks", { url: receiver.url, ...request });
  expect(created.status).toBe(201);
  receiver.useSecret(created.body.secret);
  return { ...receiver, id: created.body.webhook.id as string, secret: created.body.secret as string };
}

async function connectDevice(sn: string) {
  const device = await mqtt.connectAsync(stack.endpoints.mqtt, {
    clientId: sn,
    ...deviceLogin(stack, sn),
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  cleanups.push(() => device.endAsync());
  return device;
}

/** The events queue's raw body of `eventId` (the queue applications read today). */
const queuedBody = (eventId: string) =>
  eventually(async () => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.eventsQueueUrl, MaxNumberOfMessages: 10 }),
    );
    for (const m of Messages) queued.set(JSON.parse(m.Body ?? "{}").eventId, m.Body ?? "");
    if (Messages.length) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: stack.eventsQueueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    return queued.get(eventId);
  });

describe("device → EMQX → ingest → SNS → webhooks queue → sender → receiver", () => {
  it("POSTs a device's punch to its subscriber signed, with the body of the SQS message byte for byte", async () => {
    const receiver = await subscribed({ types: ["attendance"], sn: "E2E-WH-1" });
    const device = await connectDevice("E2E-WH-1");
    const punch = { user_id: "77", att_time: "2026-12-01 08:00:00", att_state: 0, note: "café" };
    const publishedAt = Date.now();
    await device.publishAsync("api/mqtt/v1/E2E-WH-1/evt", JSON.stringify(punch), { qos: 1 });
    const [delivered] = await eventually(async () =>
      receiver.received.length ? receiver.received : undefined,
    );
    console.info(
      `webhook latency, device publish → receiver: ${(delivered?.receivedAt ?? 0) - publishedAt} ms`,
    );
    expect(delivered?.verified).toBe(true);
    const eventId = delivered?.headers["webhook-id"] as string;
    expect(await queuedBody(eventId)).toBe(delivered?.body);
    expect(JSON.parse(delivered?.body ?? "")).toMatchObject({
      type: "attendance",
      eventId,
      sn: "E2E-WH-1",
      data: { user_id: "77", note: "café" },
    });
    // What README "Webhooks" tells receivers to do, and that a forgery fails it.
    expect(verifyWebhook(receiver.secret, delivered?.headers ?? {}, delivered?.body ?? "").ok).toBe(true);
    const forged = (delivered?.body ?? "").replace('"77"', '"78"');
    expect(verifyWebhook(receiver.secret, delivered?.headers ?? {}, forged).ok).toBe(false);
  });

  it("retries a receiver answering 500, then dead-letters the event and shows the subscription failing", async () => {
    const receiver = await subscribed({ types: ["presence"], sn: "E2E-WH-2" }, () => 500);
    await connectDevice("E2E-WH-2");
    const letters = await eventually(async () => {
      const answer = await api("GET", `/v1/webhooks/${receiver.id}/dead-letters`);
      return answer.body.items?.length ? answer.body.items : undefined;
    }, 20_000);
    expect(letters[0]).toMatchObject({ attempts: 4, lastError: "HTTP 500" });
    expect(receiver.received.filter((w) => w.headers["webhook-id"] === letters[0].eventId)).toHaveLength(4);
    const { body } = await api("GET", `/v1/webhooks/${receiver.id}`);
    expect(body.webhook).toMatchObject({ status: "failing", deadLettered: 1, lastError: "HTTP 500" });
  });
});
