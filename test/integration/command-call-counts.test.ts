/**
 * AWS requests per command operation, counted by SDK middleware on the real clients (DynamoDB Local and
 * the SQS stand-in) under the real adapters. A count is behaviour, not timing: it is what a request
 * costs on AWS, so each is asserted exactly.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoDbCommandStore } from "../../functions/adapters/dynamodb/command-store.ts";
import { EmqxPublishClient } from "../../functions/adapters/emqx/publish-client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { SqsCommandQueue } from "../../functions/adapters/sqs/command-queue.ts";
import { SqsEventQueue } from "../../functions/adapters/sqs/event-queue.ts";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import { systemClock } from "../../functions/core/ports.ts";
import { handleCommandBatch } from "../../functions/publisher/batch.ts";
import {
  API_KEY,
  API_SECRET,
  CountingPublisher,
  connectDevice,
  failedIds,
  redeliver,
  startEmqx,
  takeCommandBatch,
} from "../support/publisher-fixtures.ts";
import { tally } from "../support/request-tally.ts";
import { createTestResources, silentLogger, type TestResources, uniqueName } from "../support/resources.ts";

let env: TestResources;
let emqx: Awaited<ReturnType<typeof startEmqx>>;
let dynamodb: DynamoDBClient;
let sqs: SQSClient;
let deps: ReturnType<typeof portsOn>;
const calls: string[] = [];
const closers: Array<() => Promise<unknown>> = [];

/** The command ports on clients this file counts. */
const portsOn = (ddb: DynamoDBClient, queue: SQSClient) => ({
  commands: new DynamoDbCommandStore(ddb, env.tableName),
  events: new SqsEventQueue(queue, env.eventsQueueUrl),
  queue: new SqsCommandQueue(queue, env.commandsQueueUrl),
  clock: systemClock,
});

/** The next call of this operation fails as an outage would (an SDK-boundary fault). */
let failNext: string | undefined;

/** Records one call of `command`; the SDK's retries of it do not count (they run after `initialize`). */
function record(command: string, label: string) {
  const call = `${command}${label}`;
  calls.push(call);
  if (call !== failNext) return;
  failNext = undefined;
  throw Object.assign(new Error(`injected outage of ${call}`), { name: "ServiceUnavailable" });
}
const COUNTED = { step: "initialize", name: "countCalls" } as const;

function count(ddb: DynamoDBClient, queue: SQSClient) {
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      record(context.commandName ?? "?", "");
      return next(args);
    },
    COUNTED,
  );
  queue.middlewareStack.add(
    (next, context) => async (args) => {
      const url = (args.input as { QueueUrl?: string }).QueueUrl;
      const label =
        url === env.eventsQueueUrl ? " (events)" : url === env.commandsQueueUrl ? " (commands)" : "";
      record(context.commandName ?? "?", label);
      return next(args);
    },
    COUNTED,
  );
}

/** Requests per operation name since the last reset. */
const counts = () => tally(calls);

beforeAll(async () => {
  env = await createTestResources();
  emqx = await startEmqx();
  dynamodb = createDynamoDbClient({ endpoint: env.dynamodbEndpoint, region: "us-east-1" });
  sqs = createSqsClient({ endpoint: env.sqsEndpoint, region: "us-east-1" });
  count(dynamodb, sqs);
  deps = portsOn(dynamodb, sqs);
});

beforeEach(() => {
  calls.length = 0;
  failNext = undefined;
});

afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  await emqx?.stop();
  dynamodb?.destroy();
  sqs?.destroy();
  env?.destroy();
});

const publisher = () =>
  new CountingPublisher(
    new EmqxPublishClient({ baseUrl: emqx.apiUrl, apiKey: API_KEY, apiSecret: API_SECRET }),
  );

async function online(sn: string) {
  const device = await connectDevice(emqx.mqttUrl, sn);
  closers.push(() => device.close());
  return device;
}

/** Runs one publisher batch of `size` queue messages and returns its counts with the EMQX calls. */
async function publishBatch(size: number) {
  const event = await takeCommandBatch(env, size);
  calls.length = 0;
  const emqxApi = publisher();
  const response = await handleCommandBatch({ ...deps, publisher: emqxApi }, event, silentLogger());
  expect(failedIds(response)).toEqual([]);
  return { ...counts(), emqx: emqxApi.calls.length };
}

describe("AWS requests per command operation", () => {
  it("create: one conditional put, the `queued` announcement, the queue pointer, one write recording both", async () => {
    await createCommand(deps, uniqueName("CREATE"), { op: "ping" });
    expect(counts()).toEqual({
      PutItemCommand: 1,
      "SendMessageBatchCommand (events)": 1,
      "SendMessageBatchCommand (commands)": 1,
      UpdateItemCommand: 1,
    });
    await takeCommandBatch(env, 1);
    await env.drainEvents();
  });

  it("create replayed (same id and body): one conditional put, nothing else", async () => {
    const sn = uniqueName("REPLAY");
    await createCommand(deps, sn, { id: "r-1", op: "ping" });
    calls.length = 0;
    await createCommand(deps, sn, { id: "r-1", op: "ping" });
    expect(counts()).toEqual({ PutItemCommand: 1 });
    await takeCommandBatch(env, 1);
    await env.drainEvents();
  });

  it("publisher, a batch of 10 commands to online devices: 1 EMQX call, 1 read, 10 writes, 1 SQS batch", async () => {
    const sns = [1, 2, 3, 4, 5].map((i) => uniqueName(`BATCH${i}`));
    await Promise.all(sns.map((sn) => online(sn)));
    for (const sn of sns) for (const op of ["a", "b"]) await createCommand(deps, sn, { op });
    await env.drainEvents();

    expect(await publishBatch(10)).toEqual({
      emqx: 1,
      BatchGetItemCommand: 1,
      UpdateItemCommand: 10,
      "SendMessageBatchCommand (events)": 1,
    });
    const announced = (await env.drainEvents()).filter((e) => sns.includes(e.sn));
    expect(announced.map((e) => e.data.status)).toEqual(Array(10).fill("sent"));
  });

  it("publisher, a device with a pending command: lists its older commands only until they went out", async () => {
    const sn = uniqueName("HELD");
    await createCommand(deps, sn, { op: "first" });
    // Offline: `pending`, and the device is marked as holding a command out of its queue order and as
    // having commands that may wait for its connect: status, hold mark, "commands may wait" mark.
    expect(await publishBatch(1)).toEqual({
      emqx: 1,
      BatchGetItemCommand: 1,
      UpdateItemCommand: 3,
      "SendMessageBatchCommand (events)": 1,
    });
    const device = await online(sn);
    await createCommand(deps, sn, { op: "second" });
    // The newer command lists the older pending one (both statuses it may wait in), reads it again
    // consistently (the index may lag), sends it first, then lifts the mark.
    expect(await publishBatch(1)).toEqual({
      emqx: 1,
      BatchGetItemCommand: 2,
      QueryCommand: 2,
      UpdateItemCommand: 2,
      DeleteItemCommand: 1,
      "SendMessageBatchCommand (events)": 1,
    });
    await device.settle(2);
    expect(device.ids()).toHaveLength(2);
    await createCommand(deps, sn, { op: "third" });
    expect(await publishBatch(1)).toEqual({
      emqx: 1,
      BatchGetItemCommand: 1,
      UpdateItemCommand: 1,
      "SendMessageBatchCommand (events)": 1,
    });
    await env.drainEvents();
  });
});

describe("one write per status change stays crash-safe", () => {
  const handle = async (event: SQSEvent) => {
    const emqxApi = publisher();
    const response = await handleCommandBatch({ ...deps, publisher: emqxApi }, event, silentLogger());
    return { response, emqxCalls: emqxApi.calls.length };
  };
  const statusEvents = async (sn: string) =>
    (await env.drainEvents()).filter((e) => e.sn === sn && e.data.status !== "queued");

  it("writes the changes unannounced when the announcement fails; their redelivery announces them, publishing nothing again", async () => {
    const sn = uniqueName("NOANNOUNCE");
    const device = await online(sn);
    for (const op of ["a", "b"]) await createCommand(deps, sn, { op });
    const event = await takeCommandBatch(env, 2);
    await env.drainEvents();

    failNext = "SendMessageBatchCommand (events)";
    const first = await handle(event);
    expect(failedIds(first.response)).toHaveLength(2);
    for (const record of event.Records) {
      const stored = await deps.commands.get(sn, JSON.parse(record.body).id);
      expect(stored).toMatchObject({ status: "sent", announcedStatus: "queued" });
    }
    expect(await statusEvents(sn)).toEqual([]);

    const again = await handle(redeliver(event, first.response));
    expect(failedIds(again.response)).toEqual([]);
    expect(again.emqxCalls).toBe(0);
    expect((await statusEvents(sn)).map((e) => e.data.status)).toEqual(["sent", "sent"]);
    expect(await device.settle(2)).toHaveLength(2);
  });

  it("leaves a command whose status write failed after its announcement to its redelivery: published again, announced under the same eventId", async () => {
    const sn = uniqueName("NOWRITE");
    const device = await online(sn);
    const { command } = await createCommand(deps, sn, { op: "a" });
    const event = await takeCommandBatch(env, 1);
    await env.drainEvents();

    failNext = "UpdateItemCommand";
    const first = await handle(event);
    expect(failedIds(first.response)).toHaveLength(1);
    expect((await deps.commands.get(sn, command.id))?.status).toBe("queued");
    const announced = await statusEvents(sn);
    expect(announced.map((e) => e.data.status)).toEqual(["sent"]);

    const again = await handle(redeliver(event, first.response));
    expect(failedIds(again.response)).toEqual([]);
    expect(await deps.commands.get(sn, command.id)).toMatchObject({
      status: "sent",
      announcedStatus: "sent",
    });
    // At least once, as after any crash past EMQX's answer: the device drops the repeated command id, and
    // the repeated announcement has the same eventId (a FIFO events queue drops it itself).
    expect(await device.settle(2)).toHaveLength(2);
    const repeated = await statusEvents(sn);
    expect(new Set([...announced, ...repeated].map((e) => e.eventId))).toEqual(
      new Set([announced[0]?.eventId]),
    );
  });
});
