import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConditionalCheckFailedException, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import { serve } from "@hono/node-server";
import { type AwsClients, awsClients, createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import type { BaseConfig } from "../../functions/adapters/config.ts";
import { benchLogger } from "../lib/fixture.ts";

/**
 * One HTTP server for the throughput comparison, in its own process: `hono` is the ingest app on
 * @hono/node-server exactly as `npm start` serves it; `bare` is node:http doing the same work by hand
 * (bearer check, body read, JSON parse, one conditional PutItem and one SendMessage). Prints its port.
 */
const mode = process.argv[2];
const env = process.env as Record<string, string>;
const config: BaseConfig = {
  TABLE_NAME: env.TABLE_NAME as string,
  EVENTS_QUEUE_URL: env.EVENTS_QUEUE_URL as string,
  COMMANDS_QUEUE_URL: env.COMMANDS_QUEUE_URL as string,
  AWS_REGION: "us-east-1",
  DYNAMODB_ENDPOINT: env.DYNAMODB_ENDPOINT,
  SQS_ENDPOINT: env.SQS_ENDPOINT,
};
const token = env.INGEST_TOKEN as string;

if (mode === "hono") {
  const { createIngestApp } = await import("../../functions/ingest/app.ts");
  const app = createIngestApp(createAwsDeps(config), {
    tokens: [token],
    deadlineMs: 8_000,
    maxBodyBytes: 256 * 1024,
    deviceTokenSecrets: [],
    logger: benchLogger(),
  });
  serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => console.log(`PORT ${info.port}`));
} else {
  const clients = awsClients(config);
  const expected = createHash("sha256").update(`Bearer ${token}`).digest();
  const fifo = config.EVENTS_QUEUE_URL.endsWith(".fifo");
  const server = createServer((req, res) => {
    handleBare(req, res, clients, expected, fifo).catch((error: unknown) =>
      reply(res, 503, { error: String(error) }),
    );
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => console.log(`PORT ${(server.address() as AddressInfo).port}`));
}

async function handleBare(
  req: IncomingMessage,
  res: ServerResponse,
  clients: AwsClients,
  expected: Buffer,
  fifo: boolean,
): Promise<void> {
  const presented = createHash("sha256")
    .update(req.headers.authorization ?? "")
    .digest();
  if (!timingSafeEqual(presented, expected)) return reply(res, 401, { error: "unauthorized" });
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const event = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
    id: string;
    clientid: string;
    topic: string;
    payload: string;
  };
  const sn = event.topic.split("/")[3] as string;
  const punch = JSON.parse(event.payload) as { user_id: string; att_time: string; att_state: number };
  const item = {
    pk: `DEVICE#${sn}`,
    sk: `ATT#${punch.att_time}#${punch.user_id}`,
    gsi1pk: `ATT#${punch.att_time.slice(0, 10)}`,
    gsi1sk: `${punch.att_time}#${sn}#${punch.user_id}`,
    sn,
    userId: punch.user_id,
    attTime: punch.att_time,
    attState: punch.att_state,
    eventId: `${sn}-${punch.att_time}-${punch.user_id}`,
    receivedAt: new Date().toISOString(),
    transport: "mqtt",
    emqxId: event.id,
  };
  try {
    await clients.dynamodb.send(
      new PutItemCommand({
        TableName: config.TABLE_NAME,
        Item: marshall(item),
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException)
      return reply(res, 200, { result: "attendance", sn, stored: 0, duplicates: 1, rejected: [] });
    throw error;
  }
  await clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: config.EVENTS_QUEUE_URL,
      MessageBody: JSON.stringify({ type: "attendance", ...item }),
      MessageAttributes: {
        type: { DataType: "String", StringValue: "attendance" },
        sn: { DataType: "String", StringValue: sn },
      },
      ...(fifo ? { MessageGroupId: sn, MessageDeduplicationId: item.eventId } : {}),
    }),
  );
  reply(res, 200, { result: "attendance", sn, stored: 1, duplicates: 0, rejected: [] });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
