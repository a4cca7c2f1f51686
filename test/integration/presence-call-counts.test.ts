/**
 * AWS requests per presence change that brings a device online, counted by SDK middleware on the real
 * clients (DynamoDB Local and the SQS stand-in) under the real adapters and the ingest app. A device
 * with nothing waiting costs one read; only a device the publisher marked as holding a `pending`
 * command costs the Query that finds it, and gets it back on the commands queue.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoDbCommandStore } from "../../functions/adapters/dynamodb/command-store.ts";
import { DynamoDbPresenceStore } from "../../functions/adapters/dynamodb/presence-store.ts";
import { EmqxPublishClient } from "../../functions/adapters/emqx/publish-client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { SqsCommandQueue } from "../../functions/adapters/sqs/command-queue.ts";
import { SqsEventQueue } from "../../functions/adapters/sqs/event-queue.ts";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import { handleCommandBatch } from "../../functions/publisher/batch.ts";
import { connectedBody } from "../support/emqx-bodies.ts";
import { startIngest } from "../support/ingest-server.ts";
import {
  API_KEY,
  API_SECRET,
  bodyOf,
  failedIds,
  startEmqx,
  takeCommandBatch,
} from "../support/publisher-fixtures.ts";
import { createTestResources, silentLogger, type TestResources, uniqueName } from "../support/resources.ts";

let env: TestResources;
let emqx: Awaited<ReturnType<typeof startEmqx>>;
let dynamodb: DynamoDBClient;
let sqs: SQSClient;
let ingest: Awaited<ReturnType<typeof startIngest>>;
const calls: string[] = [];

function count(ddb: DynamoDBClient, queue: SQSClient) {
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? "?");
      return next(args);
    },
    { step: "initialize", name: "countCalls" },
  );
  queue.middlewareStack.add(
    (next, context) => async (args) => {
      const url = (args.input as { QueueUrl?: string }).QueueUrl;
      const label =
        url === env.eventsQueueUrl ? " (events)" : url === env.commandsQueueUrl ? " (commands)" : "";
      calls.push(`${context.commandName}${label}`);
      return next(args);
    },
    { step: "initialize", name: "countCalls" },
  );
}

/** Requests per operation since the last reset, e.g. `{ PutItemCommand: 1 }`. */
const tally = () => {
  const out: Record<string, number> = {};
  for (const call of calls) out[call] = (out[call] ?? 0) + 1;
  return out;
};

beforeAll(async () => {
  env = await createTestResources();
  emqx = await startEmqx();
  dynamodb = createDynamoDbClient({ endpoint: env.dynamodbEndpoint, region: "us-east-1" });
  sqs = createSqsClient({ endpoint: env.sqsEndpoint, region: "us-east-1" });
  count(dynamodb, sqs);
  ingest = await startIngest({
    ...env.deps,
    presence: new DynamoDbPresenceStore(dynamodb, env.tableName),
    commands: new DynamoDbCommandStore(dynamodb, env.tableName),
    queue: new SqsCommandQueue(sqs, env.commandsQueueUrl),
    events: new SqsEventQueue(sqs, env.eventsQueueUrl),
  });
});
beforeEach(() => {
  calls.length = 0;
});
afterAll(async () => {
  await ingest?.stop();
  await emqx?.stop();
  dynamodb?.destroy();
  sqs?.destroy();
  env?.destroy();
});

/** The real publisher takes the command while its device is offline: EMQX finds no subscriber. */
async function leavePending(sn: string, op: string) {
  const { command } = await createCommand(env.deps, sn, { op });
  const publisher = new EmqxPublishClient({ baseUrl: emqx.apiUrl, apiKey: API_KEY, apiSecret: API_SECRET });
  const response = await handleCommandBatch(
    { ...env.deps, publisher },
    await takeCommandBatch(env, 1),
    silentLogger(),
  );
  expect(failedIds(response)).toEqual([]);
  expect(await env.deps.commands.get(sn, command.id)).toMatchObject({ status: "pending" });
  return command.id;
}

describe("AWS requests per presence change that brings a device online", () => {
  it("a device with no pending command: 1 read, 1 write, 1 send, no Query", async () => {
    const sn = uniqueName("CONNECT");
    expect((await ingest.post(connectedBody(sn, 1_000_000))).body).toMatchObject({ online: true });
    expect(tally()).toEqual({
      BatchGetItemCommand: 1,
      PutItemCommand: 1,
      "SendMessageBatchCommand (events)": 1,
    });
    await env.drainEvents();
  });

  it("a device holding pending commands: the same read finds the mark, a Query finds them, both go back on its queue", async () => {
    const sn = uniqueName("HELD");
    const first = await leavePending(sn, "first");
    const second = await leavePending(sn, "second");
    await env.drainEvents();
    calls.length = 0;

    expect((await ingest.post(connectedBody(sn, 2_000_000))).body).toMatchObject({ online: true });
    expect(tally()).toEqual({
      BatchGetItemCommand: 1,
      PutItemCommand: 1,
      QueryCommand: 1,
      "SendMessageBatchCommand (commands)": 1,
      "SendMessageBatchCommand (events)": 1,
    });
    const requeued = await takeCommandBatch(env, 2);
    expect(requeued.Records.map((record) => bodyOf(record))).toEqual([
      { sn, id: first },
      { sn, id: second },
    ]);
    await env.drainEvents();
  });
});
