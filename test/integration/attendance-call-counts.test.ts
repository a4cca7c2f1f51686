/**
 * AWS requests per punch, counted by SDK middleware on the real clients (DynamoDB Local and the SQS
 * stand-in) under the real adapters and the ingest app. A count is what a punch costs on AWS, so each is
 * asserted exactly: a new punch is one write and one send, a duplicate this instance sent is one write.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoDbAttendanceStore } from "../../functions/adapters/dynamodb/attendance-store.ts";
import { createDynamoDbClient } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { SqsEventQueue } from "../../functions/adapters/sqs/event-queue.ts";
import { publishBody } from "../support/emqx-bodies.ts";
import { startIngest } from "../support/ingest-server.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

let env: TestResources;
let dynamodb: DynamoDBClient;
let sqs: SQSClient;
const calls: string[] = [];
const ingests: Array<Awaited<ReturnType<typeof startIngest>>> = [];

/** The next call of this operation fails as an outage would (an SDK-boundary fault). */
let failNext: string | undefined;
/** The next PutItem lands, but its answer is lost, so the SDK sends it again. */
let loseNextPutAnswer = false;

/** Records one call; the SDK's retries of it do not count (they run after `initialize`). */
function record(call: string) {
  calls.push(call);
  if (call !== failNext) return;
  failNext = undefined;
  throw Object.assign(new Error(`injected outage of ${call}`), { name: "ServiceUnavailable" });
}

function count(ddb: DynamoDBClient, queue: SQSClient) {
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      record(context.commandName ?? "?");
      return next(args);
    },
    { step: "initialize", name: "countCalls" },
  );
  // Inside the SDK's retry loop: the request reaches DynamoDB, then the answer "times out".
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName !== "PutItemCommand" || !loseNextPutAnswer) return result;
      loseNextPutAnswer = false;
      throw Object.assign(new Error("answer lost (injected)"), { name: "TimeoutError", $retryable: {} });
    },
    { step: "deserialize", name: "loseAnswer" },
  );
  queue.middlewareStack.add(
    (next, context) => async (args) => {
      const url = (args.input as { QueueUrl?: string }).QueueUrl;
      record(`${context.commandName}${url === env.eventsQueueUrl ? " (events)" : ""}`);
      return next(args);
    },
    { step: "initialize", name: "countCalls" },
  );
}

/**
 * A warm ingest instance: its own attendance ports on the counted clients (what an instance remembers
 * lives in its ports), the other ports uncounted.
 */
async function instance() {
  const ingest = await startIngest({
    ...env.deps,
    attendance: new DynamoDbAttendanceStore(dynamodb, env.tableName),
    events: new SqsEventQueue(sqs, env.eventsQueueUrl),
  });
  ingests.push(ingest);
  return ingest;
}

/** Requests per operation since the last reset, e.g. `{ PutItemCommand: 1 }`. */
const tally = () => {
  const out: Record<string, number> = {};
  for (const call of calls) out[call] = (out[call] ?? 0) + 1;
  return out;
};

const punch = (sn: string, userId: string, minute = 0) =>
  publishBody(
    `api/mqtt/v1/${sn}/evt`,
    JSON.stringify({
      user_id: userId,
      att_time: `2026-11-22 08:${String(minute).padStart(2, "0")}:00`,
      att_state: 0,
    }),
  );
const eventsOf = async (sn: string) => (await env.drainEvents()).filter((event) => event.sn === sn);

beforeAll(async () => {
  env = await createTestResources();
  dynamodb = createDynamoDbClient({ endpoint: env.dynamodbEndpoint, region: "us-east-1" });
  sqs = createSqsClient({ endpoint: env.sqsEndpoint, region: "us-east-1" });
  count(dynamodb, sqs);
});
afterAll(async () => {
  await Promise.all(ingests.map((ingest) => ingest.stop()));
  dynamodb.destroy();
  sqs.destroy();
  env.destroy();
});
beforeEach(() => {
  calls.length = 0;
  failNext = undefined;
  loseNextPutAnswer = false;
});

describe("AWS requests per punch", () => {
  it("new punch: 1 PutItem + 1 SendMessageBatch; its duplicate on the same instance: 1 PutItem", async () => {
    const ingest = await instance();
    expect((await ingest.post(punch("SN-K1", "1"))).body).toMatchObject({ stored: 1 });
    expect(tally()).toEqual({ PutItemCommand: 1, "SendMessageBatchCommand (events)": 1 });

    calls.length = 0;
    expect((await ingest.post(punch("SN-K1", "1"))).body).toMatchObject({ stored: 0, duplicates: 1 });
    expect(tally()).toEqual({ PutItemCommand: 1 });
    expect(await eventsOf("SN-K1")).toHaveLength(1);
  });

  it("a recent duplicate on another instance: 1 PutItem + 1 SendMessageBatch, and consumers get one message", async () => {
    await (await instance()).post(punch("SN-K2", "1"));
    calls.length = 0;
    const other = await instance();
    expect((await other.post(punch("SN-K2", "1"))).body).toMatchObject({ duplicates: 1 });
    expect(tally()).toEqual({ PutItemCommand: 1, "SendMessageBatchCommand (events)": 1 });
    // The FIFO queue drops the repeat of an eventId within 5 minutes.
    expect(await eventsOf("SN-K2")).toHaveLength(1);
  });

  it("a backlog of 12 new punches: 12 PutItem + 2 SendMessageBatch, in the device's order", async () => {
    const ingest = await instance();
    const backlog = Array.from({ length: 12 }, (_, i) => ({
      user_id: String(i),
      att_time: `2026-11-22 09:${String(i).padStart(2, "0")}:00`,
      att_state: 0,
    }));
    const answer = await ingest.post(publishBody("api/mqtt/v1/SN-K3/evt", JSON.stringify(backlog)));
    expect(answer.body).toMatchObject({ stored: 12 });
    expect(tally()).toEqual({ PutItemCommand: 12, "SendMessageBatchCommand (events)": 2 });
    expect((await eventsOf("SN-K3")).map((event) => event.data.user_id)).toEqual(
      backlog.map((p) => p.user_id),
    );
  });

  it("a put whose first attempt landed but whose answer was lost still counts as new: stored and sent once", async () => {
    const ingest = await instance();
    loseNextPutAnswer = true;
    expect((await ingest.post(punch("SN-K4", "1"))).body).toMatchObject({ stored: 1, duplicates: 0 });
    expect(loseNextPutAnswer).toBe(false);
    expect(tally()).toEqual({ PutItemCommand: 1, "SendMessageBatchCommand (events)": 1 });
    expect(await userReads(env).attendance("SN-K4")).toHaveLength(1);
    expect(await eventsOf("SN-K4")).toHaveLength(1);
  });

  it("a failed send: the write is taken back (1 DeleteItem) and the answer is 503; the retry is a new punch", async () => {
    const ingest = await instance();
    failNext = "SendMessageBatchCommand (events)";
    expect((await ingest.post(punch("SN-K5", "1"))).status).toBe(503);
    expect(tally()).toEqual({
      PutItemCommand: 1,
      "SendMessageBatchCommand (events)": 1,
      DeleteItemCommand: 1,
    });
    expect(await userReads(env).attendance("SN-K5")).toHaveLength(0);

    calls.length = 0;
    expect((await ingest.post(punch("SN-K5", "1"))).body).toMatchObject({ stored: 1 });
    expect(tally()).toEqual({ PutItemCommand: 1, "SendMessageBatchCommand (events)": 1 });
    expect(await eventsOf("SN-K5")).toHaveLength(1);
  });
});
