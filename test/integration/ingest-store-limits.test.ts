import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import { publishBody } from "../support/emqx-bodies.ts";
import { startIngest } from "../support/ingest-server.ts";
import { createTestResources, type TestResources, uniqueName } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

let env: TestResources;
let ingest: Awaited<ReturnType<typeof startIngest>>;

beforeAll(async () => {
  env = await createTestResources();
  ingest = await startIngest(env.deps);
});
afterAll(async () => {
  await ingest.stop();
  env.destroy();
});

const good = (userId: string) => ({ user_id: userId, att_time: "2026-11-22 08:00:00", att_state: 0 });
const evt = (sn: string, payload: unknown) =>
  publishBody(`api/mqtt/v1/${sn}/evt`, typeof payload === "string" ? payload : JSON.stringify(payload));
const nested = (levels: number): unknown => (levels === 0 ? 1 : { a: nested(levels - 1) });
const today = () => new Date().toISOString().slice(0, 10);
const quarantined = async (id: unknown) =>
  (await userReads(env).quarantined(today())).find((entry) => entry.id === id);
const eventsOf = async (sn: string) => (await env.drainEvents()).filter((event) => event.sn === sn);

/** Every message on a FIFO queue, in order (a group's next message shows once the one before is deleted). */
async function drain(QueueUrl: string): Promise<FanoutMessage[]> {
  const out: FanoutMessage[] = [];
  for (;;) {
    const { Messages = [] } = await env.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }),
    );
    if (Messages.length === 0) return out;
    out.push(...Messages.map((m) => JSON.parse(m.Body ?? "{}") as FanoutMessage));
    await env.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

/** A PutItem or BatchWriteItem of quarantine entries. */
function writesQuarantine(input: unknown): boolean {
  type Item = Record<string, { S?: string }>;
  const { Item, RequestItems } = input as {
    Item?: Item;
    RequestItems?: Record<string, Array<{ PutRequest?: { Item?: Item } }>>;
  };
  const first = Item ?? Object.values(RequestItems ?? {})[0]?.[0]?.PutRequest?.Item;
  return first?.type?.S === "quarantine";
}

type Rejected = { index: number; field: string; reason: string; quarantineId: string };

describe("records DynamoDB would refuse", () => {
  it("refuses each one naming its field, and stores and fans out the others of the backlog", async () => {
    const backlog = [
      good("1"),
      { ...good("2"), deep: nested(31) }, // extra is a map of the item: 1 + 1 + 31 levels > 32
      { ...good("3"), x: 1e-200 },
      { ...good("4"), "": 1 },
      { ...good("5"), ["k".repeat(70_000)]: 1 },
      { ...good("6"), fine: nested(30) },
    ];
    const answer = await ingest.post(evt("SN-L1", backlog));
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ stored: 2, duplicates: 0 });
    const rejected = answer.body.rejected as Rejected[];
    expect(rejected.map((r) => r.index)).toEqual([1, 2, 3, 4]);
    expect(rejected[0]?.field).toMatch(/^payload\[1\]\.deep(\.a)+$/);
    expect(rejected.slice(1).map((r) => r.field)).toEqual([
      "payload[2].x",
      "payload[3]",
      `payload[4].${"k".repeat(16)}…`,
    ]);
    for (const r of rejected) {
      expect(r.reason).toBe("invalid_attendance_record");
      expect(await quarantined(r.quarantineId)).toMatchObject({ field: r.field, sn: "SN-L1" });
    }
    expect(await userReads(env).attendance("SN-L1")).toHaveLength(2);
    const events = await eventsOf("SN-L1");
    expect(events.map((e) => e.data.user_id).sort()).toEqual(["1", "6"]);
  });

  it("quarantines on its own a record the store still refuses, and stores and sends the others", async () => {
    const deps = createAwsDeps(env.config);
    const client = (deps.attendance as unknown as { client: DynamoDBClient }).client;
    // No valid record is refused by DynamoDB any more, so the refusal is injected at the SDK boundary.
    client.middlewareStack.add(
      (next) => async (args) => {
        const item = (args.input as { Item?: Record<string, { S?: string }> }).Item;
        if (item?.userId?.S === "refuse-me") {
          throw Object.assign(new Error("Item size has exceeded the maximum allowed size"), {
            name: "ValidationException",
          });
        }
        return next(args);
      },
      // `build`: after the DocumentClient marshalled the item (`{ S: ... }`), before the SDK's retries.
      { step: "build", name: "refuseOne" },
    );
    const refusing = await startIngest(deps);
    try {
      const answer = await refusing.post(evt("SN-L2", [good("1"), good("refuse-me"), good("3")]));
      expect(answer.status).toBe(422);
      expect(answer.body).toMatchObject({
        stored: 2,
        field: "payload[1]",
        type: "invalid_attendance_record",
      });
      const [rejected] = answer.body.rejected as Rejected[];
      expect(rejected).toMatchObject({ index: 1, reason: "refused_by_store" });
      expect(await quarantined(rejected?.quarantineId)).toMatchObject({ reason: "refused_by_store" });
      expect((await eventsOf("SN-L2")).map((e) => e.data.user_id).sort()).toEqual(["1", "3"]);
    } finally {
      await refusing.stop();
    }
  });
});

describe("fan-out bodies", () => {
  it("sends text SQS would refuse raw (U+FFFE, U+FFFF, astral) escaped, and consumers read it back unchanged", async () => {
    const note = "café \uFFFE\uFFFF 😀 \u0007 中文";
    const answer = await ingest.post(evt("SN-L3", { ...good("1"), note }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ stored: 1 });
    const [event] = await eventsOf("SN-L3");
    expect(event?.data.note).toBe(note);
  });

  it("quarantines a record the queue refuses, without a 503, and stores and sends the others", async () => {
    // A real refusal: a queue that takes messages of at most 1 KiB, and a record larger than that.
    const { QueueUrl } = await env.sqs.send(
      new CreateQueueCommand({
        QueueName: `${uniqueName("small")}.fifo`,
        Attributes: { FifoQueue: "true", MaximumMessageSize: "1024" },
      }),
    );
    const small = await startIngest(createAwsDeps({ ...env.config, EVENTS_QUEUE_URL: QueueUrl ?? "" }));
    try {
      const backlog = [good("1"), { ...good("2"), note: "n".repeat(2_000) }, good("3")];
      const answer = await small.post(evt("SN-L4", backlog));
      expect(answer.status).toBe(422);
      expect(answer.body).toMatchObject({ stored: 2, field: "payload[1]" });
      const [rejected] = answer.body.rejected as Rejected[];
      expect(rejected).toMatchObject({ index: 1, reason: "refused_by_queue" });
      expect(await quarantined(rejected?.quarantineId)).toMatchObject({ reason: "refused_by_queue" });
      // Stored and sent go together: the refused punch is not left stored-but-never-sent.
      const stored = await userReads(env).attendance("SN-L4");
      expect(stored.map((item) => item.userId).sort()).toEqual(["1", "3"]);
      const sent = await drain(QueueUrl ?? "");
      expect(sent.map((m) => m.data.user_id)).toEqual(["1", "3"]);
    } finally {
      await small.stop();
    }
  });
});

describe("many bad records", () => {
  it("answers 422 for 500 bad records, quarantining each once in few writes, few at a time", async () => {
    const deps = createAwsDeps(env.config);
    const client = (deps.quarantine as unknown as { client: DynamoDBClient }).client;
    let inFlight = 0;
    let peak = 0;
    let writes = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        if (!writesQuarantine(args.input)) return next(args);
        writes++;
        peak = Math.max(peak, ++inFlight);
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: "initialize", name: "countQuarantineWrites" },
    );
    const counted = await startIngest(deps);
    try {
      const backlog = Array.from({ length: 500 }, (_, i) => ({ ...good(`u${i}`), att_time: "soon" }));
      const body = evt("SN-L5", backlog);
      const answer = await counted.post(body);
      expect(answer.status).toBe(422);
      expect(answer.body.rejected).toHaveLength(500);
      expect(peak).toBeLessThanOrEqual(8);
      expect(writes).toBeLessThanOrEqual(50);
      const entries = (await userReads(env).quarantined(today())).filter((e) => e.emqxId === body.id);
      expect(entries).toHaveLength(500);
    } finally {
      await counted.stop();
    }
  });
});

describe("nesting", () => {
  it("answers 400 naming the payload for a record nested 5,000 deep, before storing anything", async () => {
    const deep = `${"[".repeat(5_000)}${"]".repeat(5_000)}`;
    const payload = `[${JSON.stringify(good("1"))},{"user_id":"2","att_time":"2026-11-22 08:00:00","att_state":0,"x":${deep}}]`;
    const answer = await ingest.post(evt("SN-L6", payload));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ field: "payload", type: "invalid_request" });
    expect(String(answer.body.detail)).toContain("nested deeper than");
    expect(await quarantined(answer.body.quarantineId)).toMatchObject({ status: 400, field: "payload" });
    expect(await userReads(env).attendance("SN-L6")).toHaveLength(0);
    expect(await eventsOf("SN-L6")).toHaveLength(0);
  });
});
