import { GetQueueAttributesCommand, type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { countingCommandStore } from "../../functions/adapters/counting-command-store.ts";
import { EmqxPublishClient } from "../../functions/adapters/emqx/publish-client.ts";
import type { DevicePublisher } from "../../functions/core/commands/ports.ts";
import { handleCommandBatch } from "../../functions/publisher/batch.ts";
import { SimulatedDevice } from "../../local/simulator/device.ts";
import { describeCalls, type RequestCount } from "../lib/aws-counter.ts";
import {
  API_KEY,
  benchLogger,
  call,
  connectedEvent,
  disconnectedEvent,
  type Fixture,
  publishEvent,
  punch,
  ruleEventRequest,
} from "../lib/fixture.ts";
import type { Area, Row } from "../lib/report.ts";

export interface EmqxApi {
  url: string;
  key: string;
  secret: string;
  /** The stand-in's broker: the batch's devices connect there, so the batch is the usual one (all online). */
  mqttUrl: string;
}

interface Goal {
  reads: number;
  writes: number;
  sends: number;
  emqx?: number;
}

/**
 * AWS requests per operation, counted by SDK middleware on the clients the apps use. A count is what
 * the operation costs on AWS; `npm run cost` prices these.
 */
export async function requestsPerOperation(fx: Fixture, emqx: EmqxApi): Promise<Area> {
  const rows: Row[] = [];
  const failures: string[] = [];
  const counts: Record<string, Counted> = {};
  const measure = async (name: string, goal: Goal, op: () => Promise<unknown>, emqxCalls?: () => number) => {
    try {
      const logs = logsWritten(fx);
      const count = await fx.counter.count(op);
      const withEmqx = { ...count, ...logs(), ...(emqxCalls ? { emqxCalls: emqxCalls() } : {}) };
      counts[name] = withEmqx;
      rows.push(row(name, withEmqx, goal));
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const sn = `RQ${fx.id}`;
  const expect = (body: Record<string, unknown>, field: string, value: unknown) => {
    if (body[field] !== value)
      throw new Error(`answered ${JSON.stringify(body)}, expected ${field} ${value}`);
  };

  await measure("new punch", { reads: 0, writes: 1, sends: 1 }, async () =>
    expect(await call(fx.ingest, ruleEventRequest(publishEvent(sn, "evt", punch(1)))), "stored", 1),
  );
  await measure("duplicate punch", { reads: 0, writes: 1, sends: 0 }, async () =>
    expect(await call(fx.ingest, ruleEventRequest(publishEvent(sn, "evt", punch(1)))), "duplicates", 1),
  );
  const presence = `PR${fx.id}`;
  const first = Date.now() - 2_000;
  // Once per device: nothing tells yet whether an earlier version left it a pending command unmarked.
  await measure("presence: a device's first connect ever (once)", { reads: 2, writes: 2, sends: 1 }, () =>
    call(fx.ingest, ruleEventRequest(connectedEvent(presence, first))),
  );
  await call(fx.ingest, ruleEventRequest(disconnectedEvent(presence, first, first + 1_000)));
  await measure("presence: connect", { reads: 1, writes: 1, sends: 1 }, () =>
    call(fx.ingest, ruleEventRequest(connectedEvent(presence))),
  );
  await measure("presence: `st` online right after its connect", { reads: 1, writes: 1, sends: 0 }, () =>
    call(fx.ingest, ruleEventRequest(publishEvent(presence, "st", { online: true }))),
  );
  await measure("command create", { reads: 0, writes: 2, sends: 1 }, () =>
    createCommand(fx.deployedApi, `CM${fx.id}`, "count-1"),
  );
  const batch = await commandBatch(fx, 10);
  const devices = await connectDevices(batch, emqx.mqttUrl);
  const publisher = countingPublisher(emqx);
  await measure(
    "publisher batch of 10 commands",
    { reads: 1, writes: 10, sends: 1, emqx: 1 },
    async () => {
      // As the publisher's handler wires it (bootLambda): command statuses counted in its metrics.
      const commands = countingCommandStore(fx.deps.commands, fx.metrics.publisher);
      const answer = await handleCommandBatch(
        { ...fx.deps, commands, publisher, recycle: { queue: fx.deps.queue, afterReceives: 5 } },
        batch,
        benchLogger(),
        fx.metrics.publisher,
      );
      if (answer.batchItemFailures.length)
        throw new Error(`${answer.batchItemFailures.length} of 10 commands were not published`);
    },
    () => publisher.calls,
  );
  await Promise.all(devices.map((device) => device.disconnect()));
  return {
    id: "requests",
    title: "AWS requests per operation (SDK middleware, each request once before retries)",
    rows,
    failures,
    data: { counts },
  };
}

type Counted = RequestCount & { emqxCalls?: number; logBytes: number; logLines: number };

/**
 * The EMF lines an operation made its function write, measured: the ingest app flushes its own once a
 * request; the API's Lambda entry flushes after the request, done here as there.
 */
function logsWritten(fx: Fixture) {
  const all = Object.values(fx.metrics);
  const sum = (field: "bytes" | "lines") => all.reduce((total, metrics) => total + metrics[field], 0);
  const [bytes, lines] = [sum("bytes"), sum("lines")];
  return () => {
    fx.metrics.api.flush();
    return { logBytes: sum("bytes") - bytes, logLines: sum("lines") - lines };
  };
}

function row(name: string, count: Counted, goal: Goal): Row {
  const emqx = count.emqxCalls === undefined ? "" : `, ${count.emqxCalls} EMQX`;
  const goalEmqx = goal.emqx === undefined ? "" : `, ${goal.emqx} EMQX`;
  const met =
    count.reads <= goal.reads &&
    count.writes <= goal.writes &&
    count.sends <= goal.sends &&
    count.other === 0 &&
    (goal.emqx === undefined || (count.emqxCalls ?? 0) <= goal.emqx);
  return {
    figure: name,
    value: `${count.reads} R, ${count.writes} W, ${count.sends} S${emqx}: ${describeCalls(count)}`,
    goal: `≤ ${goal.reads} R, ${goal.writes} W, ${goal.sends} S${goalEmqx}`,
    met,
  };
}

/** `api`: the fixture's API on the events queue, or `deployedApi` on the topic as in AWS. */
async function createCommand(api: Fixture["api"], sn: string, id: string) {
  const request = new Request(`http://api.local/v1/devices/${sn}/commands`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ id, op: "sync_user", data: { user_id: "1001" }, ttlSeconds: 300 }),
  });
  return call(api, request, 202);
}

/** Ten commands for ten devices, taken off the fixture's commands queue as Lambda's SQS poller would. */
async function commandBatch(fx: Fixture, size: number): Promise<SQSEvent> {
  for (let i = 0; i < size; i++) await createCommand(fx.api, `PB${fx.id}N${i}`, `batch-${i}`);
  const url = fx.resources.commandsQueueUrl;
  const { Attributes } = await fx.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  const records: SQSRecord[] = [];
  const deadline = Date.now() + 15_000;
  while (records.length < size && Date.now() < deadline) {
    const { Messages = [] } = await fx.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ["All"],
        VisibilityTimeout: 60,
        WaitTimeSeconds: 0,
      }),
    );
    records.push(...Messages.filter((m) => m.Body?.includes("batch-")).map((m) => toRecord(m, Attributes)));
  }
  if (records.length !== size)
    throw new Error(`only ${records.length} of ${size} commands reached the queue`);
  return { Records: records };
}

function toRecord(message: Message, queue: Record<string, string> | undefined): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: "000000000000",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      SequenceNumber: attributes.SequenceNumber,
      MessageGroupId: attributes.MessageGroupId,
      MessageDeduplicationId: attributes.MessageDeduplicationId,
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queue?.QueueArn ?? "arn:aws:sqs:us-east-1:000000000000:commands.fifo",
    awsRegion: "us-east-1",
  };
}

/** EMQX's bulk publish API (the stand-in's), counting the calls. */
function countingPublisher(emqx: EmqxApi): DevicePublisher & { calls: number } {
  const client = new EmqxPublishClient({
    baseUrl: emqx.url,
    apiKey: emqx.key,
    apiSecret: emqx.secret,
    timeoutMs: 5_000,
  });
  const counted = {
    calls: 0,
    publishBulk(requests: Parameters<DevicePublisher["publishBulk"]>[0]) {
      counted.calls++;
      return client.publishBulk(requests);
    },
  };
  return counted;
}

/** The batch's devices, online and subscribed to their commands, as in the common case. */
async function connectDevices(batch: SQSEvent, mqttUrl: string): Promise<SimulatedDevice[]> {
  const sns = batch.Records.map((record) => (JSON.parse(record.body) as { sn: string }).sn);
  const devices = sns.map((sn) => new SimulatedDevice(sn, mqttUrl));
  await Promise.all(devices.map((device) => device.connect()));
  return devices;
}
