import { PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { FanoutMessage } from "../../core/fanout.ts";
import type { EventQueue, SendOptions } from "../../core/ports.ts";
import { type BatchSender, type Entry, type FailedEntry, sendEvents } from "../event-batches.ts";

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
export class SnsEventTopic implements EventQueue {
  private readonly sender: BatchSender;

  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {
    this.sender = {
      service: "SNS",
      operation: "SNS PublishBatch (events)",
      contentErrors: CONTENT_ERRORS,
      sendBatch: (batch) => this.publish(batch),
    };
  }

  send(messages: FanoutMessage[], options: SendOptions = {}): Promise<void> {
    return sendEvents(this.sender, messages, options);
  }

  private async publish(batch: Entry[]): Promise<FailedEntry[]> {
    const result = await this.client.send(
      new PublishBatchCommand({
        TopicArn: this.topicArn,
        PublishBatchRequestEntries: batch.map((entry, index) => ({
          Id: String(index),
          Message: entry.body,
          MessageAttributes: entry.attributes,
          MessageGroupId: entry.message.sn,
          MessageDeduplicationId: entry.deduplicationId,
        })),
      }),
    );
    return result.Failed ?? [];
  }
}
