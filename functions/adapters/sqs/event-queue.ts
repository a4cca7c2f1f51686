import type { BatchResultErrorEntry, MessageAttributeValue, SQSClient } from "@aws-sdk/client-sqs";
import { asciiJson } from "../../core/ascii-json.ts";
import { TransientError } from "../../core/errors.ts";
import type { FanoutMessage } from "../../core/fanout.ts";
import type { EventQueue, SendOptions } from "../../core/ports.ts";
import { FanoutRefusedError, type RefusedMessage } from "../../core/refusal.ts";
import { toDomainError } from "../aws-errors.ts";
import { sendFifoBatch } from "./fifo-batch.ts";

const SQS_BATCH_ENTRIES = 10;
/** A batch's bodies and attributes together; 256 KiB is every SQS queue's limit, old or new. */
const SQS_BATCH_BYTES = 256 * 1024;
/** Errors SQS raises for what a request holds: retried one message at a time to find the culprit. */
const CONTENT_ERRORS = new Set([
  "InvalidMessageContents",
  "BatchRequestTooLong",
  "InvalidParameterValue",
  "InvalidAttributeValue",
]);

/** One message as sent: shared with the SNS events topic (functions/adapters/sns/event-topic.ts). */
export interface Entry {
  message: FanoutMessage;
  /** FIFO deduplication id: the `eventId`, so SQS drops a repeat sent within its 5-minute window. */
  deduplicationId: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  bytes: number;
}

/**
 * The events queue, an SQS FIFO queue: one message group per device (`sn`), so a device's messages reach
 * consumers in the order sent, and the `eventId` as deduplication id, so SQS drops a repeat sent within
 * 5 minutes (consumers drop later ones by `eventId`). Message attributes `type` and `sn` for filters,
 * bodies as ASCII-only JSON (always valid SQS text), batches of at most ten and 256 KiB, sent one after
 * another to keep their order. A message SQS refuses for its content never fails the others: they are
 * sent, and {@link FanoutRefusedError} names it.
 */
export class SqsEventQueue implements EventQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
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
      failed = await sendFifoBatch(
        this.client,
        this.queueUrl,
        batch.map((entry) => ({ ...entry, groupId: entry.message.sn })),
      );
    } catch (error) {
      return this.refusedWhole(batch, error);
    }
    const transient = failed.find((entry) => !entry.SenderFault);
    // The caller's retry may send the sent ones again: SQS or consumers drop them by eventId.
    if (transient)
      throw new TransientError(`SQS could not take an event now: ${transient.Code}: ${transient.Message}`);
    return failed.map((entry) => ({
      eventId: batch[Number(entry.Id)]?.message.eventId ?? "",
      reason: `SQS refused the event: ${entry.Code}: ${entry.Message}`,
    }));
  }

  /** The whole call failed: an outage throws; a content error is narrowed to the message(s) at fault. */
  private async refusedWhole(batch: Entry[], error: unknown): Promise<RefusedMessage[]> {
    const name = (error as { name?: string })?.name ?? "";
    if (!CONTENT_ERRORS.has(name)) throw toDomainError("SQS SendMessageBatch (events)", error);
    if (batch.length > 1) {
      const refused: RefusedMessage[] = [];
      for (const entry of batch) refused.push(...(await this.sendBatch([entry])));
      return refused;
    }
    const message = (error as Error).message;
    return batch.map((entry) => ({
      eventId: entry.message.eventId,
      reason: `SQS refused the event: ${name}: ${message}`,
    }));
  }
}

export function toEntry(message: FanoutMessage, options: SendOptions): Entry {
  const body = asciiJson(message);
  const deduplicationId = options.resendId ? `${message.eventId}:${options.resendId}` : message.eventId;
  const attributes = {
    type: { DataType: "String", StringValue: message.type },
    sn: { DataType: "String", StringValue: message.sn },
  };
  // SQS counts the body and each attribute's name, type and value.
  const bytes =
    body.length + 2 * "String".length + "type".length + "sn".length + message.type.length + message.sn.length;
  return { message, deduplicationId, body, attributes, bytes };
}

export function batchesOf(entries: Entry[]): Entry[][] {
  const batches: Entry[][] = [];
  let current: Entry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (
      current.length === SQS_BATCH_ENTRIES ||
      (current.length > 0 && bytes + entry.bytes > SQS_BATCH_BYTES)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.bytes;
  }
  if (current.length) batches.push(current);
  return batches;
}
