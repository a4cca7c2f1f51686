/**
 * AWS requests per presence signal, counted by SDK middleware on the real clients (DynamoDB Local and the
 * SQS stand-in) under the real adapters and the ingest app: a connect is one read (the presence item and
 * the device's command marks in one BatchGetItem), one write and one send, and lists pending commands
 * only when the publisher marked the device.
 */
import { DeleteItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoDbCommandStore } from "../../functions/adapters/dynamodb/command-store.ts";
import { DynamoDbPresenceStore } from "../../functions/adapters/dynamodb/presence-store.ts";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import { WAIT_MARK_SETTLE_MS } from "../../functions/core/commands/requeue-on-connect.ts";
import { connectedBody, disconnectedBody, publishBody } from "../support/emqx-bodies.ts";
import { startIngest } from "../support/ingest-server.ts";
import { tally } from "../support/request-tally.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";

let env: TestResources;
let dynamodb: DynamoDBClient;
let ingest: Awaited<ReturnType<typeof startIngest>>;
let commands: DynamoDbCommandStore;
const calls: string[] = [];

/** Requests per operation name since the last reset. */
const counts = () => tally(calls);

beforeAll(async () => {
  env = await createTestResources();
  dynamodb = createDynamoDbClient({ endpoint: env.dynamodbEndpoint, region: "us-east-1" });
  dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? "?");
      return next(args);
    },
    { step: "initialize", name: "countCalls" },
  );
  commands = new DynamoDbCommandStore(dynamodb, env.tableName);
  ingest = await startIngest({
    ...env.deps,
    presence: new DynamoDbPresenceStore(dynamodb, env.tableName),
    commands,
  });
});
afterAll(async () => {
  await ingest.stop();
  dynamodb.destroy();
  env.destroy();
});
beforeEach(() => {
  calls.length = 0;
});

describe("AWS requests per presence signal (DynamoDB)", () => {
  it("a connect with no command waiting: 1 BatchGetItem, 1 PutItem, no listing; its st: 1 BatchGetItem, 1 PutItem", async () => {
    const first = Date.now();
    expect((await ingest.post(connectedBody("SN-PC1", first))).body).toMatchObject({ online: true });
    // A device's first connect ever lists once and records that none waits.
    expect(counts()).toEqual({
      BatchGetItemCommand: 1,
      QueryCommand: 1,
      UpdateItemCommand: 1,
      PutItemCommand: 1,
    });
    await ingest.post(disconnectedBody("SN-PC1", first, first + 1_000, "normal"));

    calls.length = 0;
    expect((await ingest.post(connectedBody("SN-PC1", first + 2_000))).body).toMatchObject({ online: true });
    expect(counts()).toEqual({ BatchGetItemCommand: 1, PutItemCommand: 1 });

    calls.length = 0;
    await ingest.post(publishBody("api/mqtt/v1/SN-PC1/st", '{"online":true}'));
    expect(counts()).toEqual({ BatchGetItemCommand: 1, PutItemCommand: 1 });
    await env.drainEvents();
  });

  it("a connect of a marked device lists and re-queues its pending command, and lifts a settled mark so the next connect lists nothing", async () => {
    await createCommand(env.deps, "SN-PC2", { op: "ping", id: "w1" });
    // As the publisher does for a device it found offline, long enough ago for the index to show it.
    await commands.markWaiting("SN-PC2", new Date(Date.now() - WAIT_MARK_SETTLE_MS - 1_000).toISOString());
    await commands.transition("SN-PC2", "w1", "pending", new Date().toISOString());
    expect(await env.takeCommandMessages("SN-PC2")).toHaveLength(1); // its first enqueue
    calls.length = 0;

    const first = Date.now();
    await ingest.post(connectedBody("SN-PC2", first));
    expect(counts()).toEqual({
      BatchGetItemCommand: 1,
      QueryCommand: 1,
      UpdateItemCommand: 1,
      PutItemCommand: 1,
    });
    const requeued = await env.takeCommandMessages("SN-PC2");
    expect(requeued.map((m) => JSON.parse(m.Body ?? "{}").id)).toEqual(["w1"]);

    await ingest.post(disconnectedBody("SN-PC2", first, first + 1_000, "normal"));
    calls.length = 0;
    await ingest.post(connectedBody("SN-PC2", first + 2_000));
    expect(counts()).toEqual({ BatchGetItemCommand: 1, PutItemCommand: 1 });
    await env.drainEvents();
  });

  it("keeps a mark set moments ago: the index may not show its command yet", async () => {
    await commands.markWaiting("SN-PC3", new Date().toISOString());
    const first = Date.now();
    await ingest.post(connectedBody("SN-PC3", first));
    expect(counts()).toEqual({
      UpdateItemCommand: 1,
      BatchGetItemCommand: 1,
      QueryCommand: 1,
      PutItemCommand: 1,
    });
    calls.length = 0;
    await ingest.post(disconnectedBody("SN-PC3", first, first + 1_000, "normal"));
    await ingest.post(connectedBody("SN-PC3", first + 2_000));
    expect(calls).toContain("QueryCommand");
    await env.drainEvents();
  });

  it("lifts a mark only if it was not set again since it was read", async () => {
    const old = new Date(Date.now() - WAIT_MARK_SETTLE_MS - 1_000).toISOString();
    const again = new Date().toISOString();
    await commands.markWaiting("SN-PC4", old);
    await commands.markWaiting("SN-PC4", again); // the publisher, between a connect's read and its lift
    await commands.clearWaiting("SN-PC4", old);
    expect((await presence().read("SN-PC4")).waiting).toEqual({ mayWait: true, markedAt: again });
    await commands.clearWaiting("SN-PC4", again);
    expect((await presence().read("SN-PC4")).waiting).toEqual({ mayWait: false });
  });

  it("lists on the next connect of a device whose presence was written before the marks existed", async () => {
    const first = Date.now();
    await ingest.post(connectedBody("SN-PC5", first));
    await ingest.post(disconnectedBody("SN-PC5", first, first + 1_000, "normal"));
    // As the previous version left it: a device seen before, no "commands may wait" item, and a pending
    // command with no mark at all.
    await dynamodb.send(
      new DeleteItemCommand({
        TableName: env.tableName,
        Key: { pk: { S: "DEVICE#SN-PC5" }, sk: { S: "CMDWAIT" } },
      }),
    );
    await createCommand(env.deps, "SN-PC5", { op: "ping", id: "legacy" });
    await env.deps.commands.transition("SN-PC5", "legacy", "pending", new Date().toISOString());
    await env.takeCommandMessages("SN-PC5");
    calls.length = 0;

    await ingest.post(connectedBody("SN-PC5", first + 2_000));
    expect(calls).toContain("QueryCommand");
    const requeued = await env.takeCommandMessages("SN-PC5");
    expect(requeued.map((m) => JSON.parse(m.Body ?? "{}").id)).toEqual(["legacy"]);
    calls.length = 0;
    await ingest.post(disconnectedBody("SN-PC5", first + 2_000, first + 3_000, "normal"));
    await ingest.post(connectedBody("SN-PC5", first + 4_000));
    expect(calls).not.toContain("QueryCommand"); // its "commands may wait" item says none waits now
    await env.drainEvents();
  });
});

const presence = () => new DynamoDbPresenceStore(dynamodb, env.tableName);
