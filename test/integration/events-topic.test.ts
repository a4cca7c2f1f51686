import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbCommandStore } from "../../functions/adapters/dynamodb/command-store.ts";
import { createSnsClient } from "../../functions/adapters/sns/client.ts";
import { SnsEventTopic } from "../../functions/adapters/sns/event-topic.ts";
import { parseCommandPointer, SqsCommandQueue } from "../../functions/adapters/sqs/command-queue.ts";
import { SqsEventQueue } from "../../functions/adapters/sqs/event-queue.ts";
import { asciiJson } from "../../functions/core/ascii-json.ts";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import { systemClock } from "../../functions/core/ports.ts";
import { FanoutRefusedError } from "../../functions/core/refusal.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";

let resources: TestResources;
let sns: ReturnType<typeof createSnsClient>;
let topic: SnsEventTopic;

beforeAll(async () => {
  resources = await createTestResources();
  sns = createSnsClient({ region: "us-east-1", endpoint: resources.sqsEndpoint, requestTimeoutMs: 10_000 });
  topic = new SnsEventTopic(sns, resources.eventsTopicArn);
});
afterAll(() => {
  sns.destroy();
  resources.destroy();
});

const punch = (sn: string, n: number, data: Record<string, unknown> = {}): FanoutMessage => ({
  type: "attendance",
  eventId: `${sn}-evt-${n}`,
  sn,
  at: "2026-12-02T07:00:00.000Z",
  data: { userId: "7", note: "café", ...data },
});

/** Every message now on a queue, in order, with its attributes; each is deleted once read. */
async function take(queueUrl: string): Promise<Message[]> {
  const taken: Message[] = [];
  for (;;) {
    const { Messages = [] } = await resources.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return taken;
    taken.push(...Messages);
    await resources.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

/** Messages grouped by device, in the order received within each (a stable sort). */
const byGroup = (messages: Message[]) =>
  [...messages].sort((a, b) =>
    (a.Attributes?.MessageGroupId ?? "").localeCompare(b.Attributes?.MessageGroupId ?? ""),
  );

describe("events through the SNS FIFO topic", () => {
  it("gives the events, feed and webhooks queues the body, attributes and group the events queue got before", async () => {
    const messages = [punch("TOPIC-1", 1), punch("TOPIC-1", 2), punch("TOPIC-2", 1)];
    await topic.send(messages);
    for (const url of [resources.eventsQueueUrl, resources.feedQueueUrl, resources.webhooksQueueUrl]) {
      // FIFO orders a group (device), not the queue: compare device by device.
      const got = byGroup(await take(url));
      expect(got.map((m) => m.Body)).toEqual(messages.map((m) => asciiJson(m)));
      expect(got.map((m) => m.Attributes?.MessageGroupId)).toEqual(["TOPIC-1", "TOPIC-1", "TOPIC-2"]);
      expect(got.map((m) => m.Attributes?.MessageDeduplicationId)).toEqual(messages.map((m) => m.eventId));
      expect(got[0]?.MessageAttributes).toEqual({
        type: { DataType: "String", StringValue: "attendance" },
        sn: { DataType: "String", StringValue: "TOPIC-1" },
      });
    }
  });

  it("publishes a repeat of an eventId once, and a replay (resendId) again", async () => {
    const message = punch("TOPIC-3", 1);
    await topic.send([message]);
    await topic.send([message]);
    await topic.send([message], { resendId: "replay-1" });
    const got = await take(resources.feedQueueUrl);
    expect(got.map((m) => m.Attributes?.MessageDeduplicationId)).toEqual([
      message.eventId,
      `${message.eventId}:replay-1`,
    ]);
    await Promise.all([take(resources.eventsQueueUrl), take(resources.webhooksQueueUrl)]);
  });

  it("refuses only the message SNS refuses for its content; the others are published", async () => {
    const huge = punch("TOPIC-4", 2, { blob: "x".repeat(300 * 1024) });
    const error = await topic.send([punch("TOPIC-4", 1), huge, punch("TOPIC-4", 3)]).catch((e) => e);
    expect(error).toBeInstanceOf(FanoutRefusedError);
    expect((error as FanoutRefusedError).refused.map((r) => r.eventId)).toEqual([huge.eventId]);
    const got = await take(resources.eventsQueueUrl);
    expect(got.map((m) => JSON.parse(m.Body ?? "{}").eventId)).toEqual(["TOPIC-4-evt-1", "TOPIC-4-evt-3"]);
    await Promise.all([take(resources.feedQueueUrl), take(resources.webhooksQueueUrl)]);
  });

  it("is the same EventQueue port as the queue: the queue alone still works without a topic", async () => {
    const queue = new SqsEventQueue(resources.sqs, resources.eventsQueueUrl);
    await queue.send([punch("TOPIC-5", 1)]);
    const got = await take(resources.eventsQueueUrl);
    expect(got.map((m) => m.Attributes?.MessageGroupId)).toEqual(["TOPIC-5"]);
    expect(await take(resources.feedQueueUrl)).toEqual([]);
  });

  it("puts a new command on the commands queue through its `queued` announcement alone: one send for both", async () => {
    const queue = new SqsCommandQueue(resources.sqs, resources.commandsQueueUrl, {
      fedByAnnouncements: true,
    });
    const commands = new DynamoDbCommandStore(resources.dynamodb, resources.tableName);
    let publishes = 0;
    const counted = {
      send: (...args: Parameters<SnsEventTopic["send"]>) => {
        publishes++;
        return topic.send(...args);
      },
    };
    const deps = { commands, events: counted, queue, clock: systemClock };
    const { command } = await createCommand(deps, "TOPIC-6", { id: "reboot-1", op: "reboot" });
    expect(publishes).toBe(1);
    const pointers = (await take(resources.commandsQueueUrl)).map((m) => parseCommandPointer(m.Body ?? ""));
    expect(pointers).toEqual([{ sn: "TOPIC-6", id: command.id }]);
    const events = await take(resources.eventsQueueUrl);
    expect(events.map((m) => JSON.parse(m.Body ?? "{}").data.status)).toEqual(["queued"]);
    // Other statuses and other events never reach the commands queue.
    await topic.send([
      { ...JSON.parse(events[0]?.Body ?? "{}"), eventId: "sent-1", data: { id: "reboot-1", status: "sent" } },
    ]);
    await topic.send([punch("TOPIC-6", 1)]);
    expect(await take(resources.commandsQueueUrl)).toEqual([]);
    await Promise.all([
      take(resources.eventsQueueUrl),
      take(resources.feedQueueUrl),
      take(resources.webhooksQueueUrl),
    ]);
  });
});
