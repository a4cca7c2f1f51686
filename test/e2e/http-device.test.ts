import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import type { LocalStack } from "../../local/stack.ts";
import { startTestStack } from "../support/local-stack.ts";

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack.stop();
});

/** What an application reads from the stack's operations API with its key. */
async function apiGet(path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${stack.endpoints.api}${path}`, {
    headers: { authorization: `Bearer ${stack.apiKeys[0]}` },
  });
  expect(response.status, path).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** The message with this eventId on the events queue (the test is its only consumer). */
async function fannedOut(eventId: unknown): Promise<Record<string, unknown> | undefined> {
  const sqs = createSqsClient({
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.sqs,
  });
  try {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stack.eventsQueueUrl, MaxNumberOfMessages: 10 }),
      );
      if (Messages.length === 0) return undefined;
      const found = Messages.map((m) => JSON.parse(m.Body ?? "{}")).find((m) => m.eventId === eventId);
      if (found) return found;
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: stack.eventsQueueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  } finally {
    sqs.destroy();
  }
}

/** What an HTTP device does: POST its MQTT payload to the ingest with its own derived token. */
async function devicePost(sn: string, channel: "evt" | "st", payload: string) {
  const token = deriveDeviceToken(stack.deviceTokenSecrets[0] as string, sn);
  const response = await fetch(`${stack.endpoints.ingest}/v1/devices/${sn}/${channel}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: payload,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("HTTP device → ingest (local stack) → DynamoDB → operations API and events queue", () => {
  it("stores a punch and the presence the device announces", async () => {
    const punch = JSON.stringify({
      user_id: "77",
      att_time: "2026-11-22 08:30:00",
      att_state: 0,
      temp: 36.6,
    });
    expect(await devicePost("E2E-H1", "evt", punch)).toMatchObject({ status: 200, body: { stored: 1 } });
    expect(await devicePost("E2E-H1", "st", '{"online":true}')).toMatchObject({
      status: 200,
      body: { result: "presence", online: true },
    });
    const stored = (await apiGet("/v1/devices/E2E-H1/attendance")).items as Array<Record<string, unknown>>;
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      user_id: "77",
      att_state: 0,
      extra: { temp: 36.6 },
      transport: "http",
    });
    expect(await fannedOut(stored[0]?.eventId)).toMatchObject({ type: "attendance", sn: "E2E-H1" });
    expect((await apiGet("/v1/devices/E2E-H1")).device).toMatchObject({ sn: "E2E-H1", online: true });
  });
});
