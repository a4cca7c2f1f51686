import { PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import { BatchedEventQueue, type Entry, type FailedEntry } from "../event-batches.ts";
import { fifoEntry } from "../sqs/fifo-batch.ts";

/** Errors SNS raises for what a request holds: retried one message at a time to find the culprit. */
const CONTENT_ERRORS = new Set([
  "InvalidParameterException",
  "InvalidParameterValueException",
  "BatchRequestTooLongException",
]);

/**
 * The events as an SNS FIFO topic (`bridge-events.fifo`) with raw-delivery SQS FIFO subscriptions: the
 * users' events queue, the feed queue and the webhooks queue each get exactly the body the events queue
 * got before, with the same message attributes (`type`, `sn`). One `PublishBatch` replaces the one
 * `SendMessageBatch`, so a punch still costs one send. `MessageGroupId` = serial number keeps a device's
 * order on every subscribed queue; `MessageDeduplicationId` = `eventId` lets SNS drop a repeat within
 * its 5-minute window (consumers drop later ones by `eventId`). Batches of at most ten and 256 KiB, as
 * on SQS (SNS PublishBatch has the same two limits), sent one after another to keep their order. A
 * message SNS refuses for its content never fails the others: `FanoutRefusedError` names it
 * (batching and refusals shared with the SQS events queue in functions/adapters/event-batches.ts).
 */
export class SnsEventTopic extends BatchedEventQueue {
  constructor(client: SNSClient, topicArn: string) {
    super({
      service: "SNS",
      operation: "SNS PublishBatch (events)",
      contentErrors: CONTENT_ERRORS,
      sendBatch: (batch) => publish(client, topicArn, batch),
    });
  }
}

async function publish(client: SNSClient, topicArn: string, batch: Entry[]): Promise<FailedEntry[]> {
  const result = await client.send(
    new PublishBatchCommand({
      TopicArn: topicArn,
      PublishBatchRequestEntries: batch.map((entry, index) => ({
        ...fifoEntry({ ...entry, groupId: entry.message.sn }, index),
        Message: entry.body,
      })),
    }),
  );
  return result.Failed ?? [];
}
