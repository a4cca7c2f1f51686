import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import mqtt from "mqtt";
import { vi } from "vitest";
import { SqsCommandQueue } from "../../functions/adapters/sqs/command-queue.ts";
import { handleDeadLetters } from "../../functions/command-dlq/batch.ts";
import type { DevicePublisher, PublishRequest } from "../../functions/core/commands/ports.ts";
import { STATUS_RANK } from "../../functions/core/commands/status.ts";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import type { CommandStatus } from "../../functions/core/schemas/command.ts";
import { handleCommandBatch } from "../../functions/publisher/batch.ts";
import { startEmqxStandIn } from "../../local/emqx/index.ts";
import { startBroker } from "../../local/services/broker.ts";
import { startQueuePoller } from "../../local/services/queue-poller.ts";
import { silentLogger, type TestResources, uniqueName } from "./resources.ts";

export const API_KEY = "publisher-test-key";
export const API_SECRET = "publisher-test-secret";
/** EMQX message ids: 32 hex digits. */
export const EMQX_MESSAGE_ID = /^[0-9A-F]{32}$/;

export const commandTopic = (sn: string) => `api/mqtt/v1/${sn}/cmd`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * aedes plus the EMQX stand-in serving the management API. The rule files are empty, so no rule runs
 * (no ingest needed): this is EMQX as the publisher sees it.
 */
export async function startEmqx() {
  const rulesDir = mkdtempSync(join(tmpdir(), "publisher-rules-"));
  for (const file of ["connectors.json", "actions.json", "rules.json"])
    writeFileSync(join(rulesDir, file), "[]");
  const broker = await startBroker();
  try {
    const standIn = await startEmqxStandIn({
      broker: broker.broker,
      rulesDir,
      ingestUrl: "http://127.0.0.1:9",
      ingestToken: "unused",
      api: { port: 0, key: API_KEY, secret: API_SECRET },
      log: () => undefined,
    });
    if (!standIn.apiUrl) throw new Error("the EMQX stand-in did not serve its API");
    return {
      standIn,
      apiUrl: standIn.apiUrl,
      mqttUrl: broker.mqttUrl,
      async stop() {
        await standIn.stop();
        await broker.stop();
        rmSync(rulesDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await broker.stop();
    rmSync(rulesDir, { recursive: true, force: true });
    throw error;
  }
}

export interface ReceivedCommand {
  topic: string;
  qos: number;
  payload: string;
}

/** A real MQTT.js device (MQTT 3.1.1: aedes speaks nothing else) subscribed to its cmd topic at QoS 1. */
export async function connectDevice(mqttUrl: string, sn: string) {
  const client = await mqtt.connectAsync(mqttUrl, {
    clientId: sn,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
  });
  const received: ReceivedCommand[] = [];
  /** Markers sent by `barrier`, and whether each came back. */
  const probes = new Map<string, boolean>();
  client.on("message", (topic, payload, packet) => {
    const text = payload.toString("utf8");
    if (probes.has(text)) return void probes.set(text, true);
    received.push({ topic, qos: packet.qos, payload: text });
  });
  const granted = await client.subscribeAsync(commandTopic(sn), { qos: 1 });
  if (granted[0]?.qos !== 1) throw new Error(`subscription of ${sn} not granted at QoS 1`);
  /**
   * Publishes a marker on the device's own command topic and waits for it to come back. The broker
   * delivers one subscriber's messages in the order it took them, and every publish the publisher made
   * was taken before its call returned: once the marker is in, everything sent before it is too.
   */
  async function barrier(timeoutMs: number): Promise<void> {
    const marker = `probe-${randomUUID()}`;
    probes.set(marker, false);
    await client.publishAsync(commandTopic(sn), marker, { qos: 1 });
    await vi.waitFor(
      () => {
        if (!probes.get(marker)) throw new Error("the marker has not come back yet");
      },
      { timeout: timeoutMs, interval: 10 },
    );
    probes.delete(marker);
  }
  return {
    sn,
    received,
    /** Command ids in arrival order. */
    ids: () => received.map((m) => (JSON.parse(m.payload) as { id: string }).id),
    /**
     * Waits for `count` messages, then for a marker sent after them, so a duplicate or an unexpected message
     * already sent shows up too. With `count` 0 it only waits for the marker: whatever was published before
     * (the publish call has returned) has arrived by then.
     */
    async settle(count: number, timeoutMs = 5_000): Promise<ReceivedCommand[]> {
      await vi.waitFor(
        () => {
          if (received.length < count) throw new Error(`${received.length} of ${count} commands arrived`);
        },
        { timeout: timeoutMs, interval: 20 },
      );
      await barrier(timeoutMs);
      return [...received];
    },
    close: () => client.endAsync(true),
  };
}

export type Device = Awaited<ReturnType<typeof connectDevice>>;

/**
 * Takes `count` real messages off the commands FIFO queue and makes the `SQSEvent` Lambda's event source
 * mapping would deliver. fauxqs hands out one message per message group per receive and locks the group
 * until that message is deleted, so messages are deleted as they are received (what the mapping does
 * for the ones the handler did not report); {@link redeliver} plays the mapping's redelivery of failures.
 */
export async function takeCommandBatch(
  env: TestResources,
  count: number,
  timeoutMs = 5_000,
): Promise<SQSEvent> {
  const arn = await queueArn(env);
  const records: SQSRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (records.length < count) {
    if (Date.now() > deadline)
      throw new Error(`only ${records.length} of ${count} messages arrived on the commands queue`);
    const { Messages = [] } = await env.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: env.commandsQueueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ["All"],
        VisibilityTimeout: 30,
        WaitTimeSeconds: 0,
      }),
    );
    for (const message of Messages) {
      records.push(toRecord(message, arn));
      await env.sqs.send(
        new DeleteMessageCommand({ QueueUrl: env.commandsQueueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
    if (Messages.length === 0) await sleep(25);
  }
  if (records.length > count)
    throw new Error(`expected ${count} messages on the commands queue, got ${records.length}`);
  return { Records: records };
}

/** The records the handler reported as failed, in order, as the event source mapping delivers them again. */
export function redeliver(event: SQSEvent, response: SQSBatchResponse): SQSEvent {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  return {
    Records: event.Records.filter((r) => failed.has(r.messageId)).map((r) => ({
      ...r,
      receiptHandle: randomUUID(),
      attributes: {
        ...r.attributes,
        ApproximateReceiveCount: String(Number(r.attributes.ApproximateReceiveCount) + 1),
      },
    })),
  };
}

/** The queue body of a record: `{sn, id}`. */
export const bodyOf = (record: SQSRecord) => JSON.parse(record.body) as { sn: string; id: string };

export const failedIds = (response: SQSBatchResponse) =>
  response.batchItemFailures.map((f) => f.itemIdentifier);

async function queueArn(env: TestResources): Promise<string> {
  const { Attributes } = await env.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: env.commandsQueueUrl, AttributeNames: ["QueueArn"] }),
  );
  return Attributes?.QueueArn ?? "arn:aws:sqs:us-east-1:000000000000:commands.fifo";
}

function toRecord(message: Message, arn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? randomUUID(),
    receiptHandle: message.ReceiptHandle ?? randomUUID(),
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "000000000000",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      SequenceNumber: attributes.SequenceNumber,
      MessageGroupId: attributes.MessageGroupId,
      MessageDeduplicationId: attributes.MessageDeduplicationId,
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: arn,
    awsRegion: "us-east-1",
  };
}

/** Wraps the real publisher to see each bulk request it makes (one per EMQX call). */
export class CountingPublisher implements DevicePublisher {
  readonly calls: PublishRequest[][] = [];
  constructor(private readonly inner: DevicePublisher) {}

  publishBulk(requests: PublishRequest[]) {
    this.calls.push([...requests]);
    return this.inner.publishBulk(requests);
  }
}

/** Every `command_status` message seen on the events queue (drained messages are kept here). */
export class CommandEvents {
  readonly #seen: FanoutMessage[] = [];
  constructor(private readonly env: TestResources) {}

  /** The announcements of one command, ordered along the status graph. */
  async of(id: string): Promise<FanoutMessage[]> {
    this.#seen.push(...(await this.env.drainEvents()));
    return this.#seen
      .filter((e) => e.type === "command_status" && e.data.id === id)
      .sort((a, b) => rank(a) - rank(b));
  }

  async statusesOf(id: string): Promise<string[]> {
    return (await this.of(id)).map((e) => String(e.data.status));
  }
}

const rank = (event: FanoutMessage) => STATUS_RANK[event.data.status as CommandStatus] ?? 99;

export interface FakeEmqxCall {
  topics: string[];
  status: number;
  body: unknown;
}

type FakeReply = { status: number; body: unknown };

/**
 * An HTTP-boundary fake of EMQX's `POST /api/v5/publish/bulk`, for answers the stand-in cannot give: it
 * refuses the whole bulk with 400 `BAD_REQUEST` when any message is for a poisoned serial number (as EMQX's
 * schema check does for one bad item), else 200 with one `{"id"}` per message. `override` may answer first.
 */
export async function startFakeEmqx(options: {
  isPoison: (sn: string) => boolean;
  override?: (topics: string[], callIndex: number) => FakeReply | undefined;
}) {
  const calls: FakeEmqxCall[] = [];
  const expected = `Basic ${Buffer.from(`${API_KEY}:${API_SECRET}`).toString("base64")}`;
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const reply = answer(req.method, req.url, req.headers.authorization, text);
    res.writeHead(reply.status, { "content-type": "application/json" }).end(JSON.stringify(reply.body));
  });
  const answer = (
    method: string | undefined,
    url: string | undefined,
    auth: string | undefined,
    text: string,
  ): FakeReply => {
    if (auth !== expected) return { status: 401, body: { code: "BAD_API_KEY_OR_SECRET", message: "no" } };
    if (method !== "POST" || url !== "/api/v5/publish/bulk")
      return { status: 404, body: { code: "NOT_FOUND", message: "Request Path Not Found" } };
    const items = JSON.parse(text) as Array<{ topic: string }>;
    const topics = items.map((item) => item.topic);
    const reply = options.override?.(topics, calls.length) ?? defaultReply(topics);
    calls.push({ topics, status: reply.status, body: reply.body });
    return reply;
  };
  const defaultReply = (topics: string[]): FakeReply => {
    const poisoned = topics.findIndex((topic) => options.isPoison(topic.split("/")[3] ?? ""));
    if (poisoned >= 0)
      return {
        status: 400,
        body: { code: "BAD_REQUEST", message: `[${poisoned}].payload: the broker refused this message` },
      };
    return { status: 200, body: topics.map(() => ({ id: randomBytes(16).toString("hex").toUpperCase() })) };
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/v5`,
    calls,
    /** The id the fake gave the message for `sn` in each accepted (2xx) call, in call order. */
    idsFor: (sn: string) =>
      calls
        .filter((c) => c.status < 300)
        .flatMap((c) => c.topics.map((topic, i) => ({ topic, id: (c.body as Array<{ id: string }>)[i]?.id })))
        .filter((m) => m.topic === commandTopic(sn))
        .map((m) => m.id),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A commands FIFO queue with its FIFO DLQ and a small receive budget (`maxReceives`), on the shared SQS
 * stand-in, with the publisher and the DLQ consumer each fed by the local stack's poller (the event
 * source mapping's stand-in, backoff capped at 1 s so an outage spends the budget in seconds). Tracks
 * every record the publisher was handed.
 */
export async function startCommandPipeline(
  env: TestResources,
  options: { maxReceives: number; recycleAfter?: number; publisher: DevicePublisher },
) {
  const name = uniqueName("budget");
  const dlqUrl = await createFifoQueue(env, `${name}-dlq`, {});
  const { Attributes } = await env.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const queueUrl = await createFifoQueue(env, name, {
    VisibilityTimeout: "30",
    DeduplicationScope: "messageGroup",
    FifoThroughputLimit: "perMessageGroupId",
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: Attributes?.QueueArn,
      maxReceiveCount: options.maxReceives,
    }),
  });
  const queue = new SqsCommandQueue(env.sqs, queueUrl);
  const deps = { ...env.deps, queue };
  const handled: SQSRecord[] = [];
  const recycle = options.recycleAfter ? { queue, afterReceives: options.recycleAfter } : undefined;
  const pollers = [
    startQueuePoller({
      sqs: env.sqs,
      queueUrl,
      maxBackoffSeconds: 1,
      handler: (event) => {
        handled.push(...event.Records);
        const publisherDeps = { ...deps, publisher: options.publisher, ...(recycle ? { recycle } : {}) };
        return handleCommandBatch(publisherDeps, event, silentLogger());
      },
    }),
    startQueuePoller({
      sqs: env.sqs,
      queueUrl: dlqUrl,
      maxBackoffSeconds: 1,
      handler: (event) => handleDeadLetters(env.deps, event, silentLogger()),
    }),
  ];
  return {
    queueUrl,
    dlqUrl,
    /** Ports for `createCommand`: the shared table and events queue, this pipeline's commands queue. */
    deps,
    handled,
    /** The highest receive count any message of the command had when the publisher got it. */
    maxReceiveCountOf: (id: string) =>
      Math.max(
        0,
        ...handled
          .filter((r) => bodyOf(r).id === id)
          .map((r) => Number(r.attributes.ApproximateReceiveCount)),
      ),
    /** How many messages the publisher got for the command (a recycled one counts again). */
    messagesOf: (id: string) =>
      new Set(handled.filter((r) => bodyOf(r).id === id).map((r) => r.messageId)).size,
    stop: () => Promise.all(pollers.map((p) => p.stop())),
  };
}

async function createFifoQueue(env: TestResources, name: string, attributes: Record<string, string>) {
  const { QueueUrl } = await env.sqs.send(
    new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { FifoQueue: "true", ...attributes } }),
  );
  if (!QueueUrl) throw new Error(`no URL for queue ${name}`);
  return QueueUrl;
}
