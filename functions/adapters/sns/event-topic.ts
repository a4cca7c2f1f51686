import { type BatchResultErrorEntry, PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import { TransientError } from "../../core/errors.ts";
import type { FanoutMessage } from "../../core/fanout.ts";
import type { EventQueue, SendOptions } from "../../core/ports.ts";
import { FanoutRefusedError, type RefusedMessage } from "../../core/refusal.ts";
import { toDomainError } from "../aws-errors.ts";
import { batchesOf, type Entry, toEntry } from "../sqs/event-queue.ts";

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
 * message SNS refuses for its content never fails the others: {@link FanoutRefusedError} names it.
 */
export class SnsEventTopic implements EventQueue {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async send(messages: FanoutMessage[], options: SendOptions = {}): Promise<void> {
    const refused: RefusedMessage[] = [];
    for (const batch of batchesOf(messages.map((message) => toEntry(message, options)))) {
      refused.push(...(await this.sendBatch(batch)));
    }
    if (refused.length) throw new FanoutRefusedError(refused);
  }

  private async sendBatch(batch: Entry[]): Promise<RefusedMessage[]> {
    let failed: BatchResultErrorEntry[];
    try {
      failed = await this.publish(batch);
    } catch (error) {
      return this.refusedWhole(batch, error);
    }
    const transient = failed.find((entry) => !entry.SenderFault);
    // The caller's retry may publish the published ones again: SNS or consumers drop them by eventId.
    if (transient)
      throw new TransientError(`SNS could not take an event now: ${transient.Code}: ${transient.Message}`);
    return failed.map((entry) => ({
      eventId: batch[Number(entry.Id)]?.message.eventId ?? "",
      reason: `SNS refused the event: ${entry.Code}: ${entry.Message}`,
    }));
  }

  private async publish(batch: Entry[]): Promise<BatchResultErrorEntry[]> {
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

  /** The whole call failed: an outage throws; a content error is narrowed to the message(s) at fault. */
  private async refusedWhole(batch: Entry[], error: unknown): Promise<RefusedMessage[]> {
    const name = (error as { name?: string })?.name ?? "";
    if (!CONTENT_ERRORS.has(name)) throw toDomainError("SNS PublishBatch (events)", error);
    if (batch.length > 1) {
      const refused: RefusedMessage[] = [];
      for (const entry of batch) refused.push(...(await this.sendBatch([entry])));
      return refused;
    }
    const message = (error as Error).message;
    return batch.map((entry) => ({
      eventId: entry.message.eventId,
      reason: `SNS refused the event: ${name}: ${message}`,
    }));
  }
}
