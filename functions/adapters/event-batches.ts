import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import { asciiJson } from "../core/ascii-json.ts";
import { TransientError } from "../core/errors.ts";
import type { FanoutMessage } from "../core/fanout.ts";
import type { EventQueue, SendOptions } from "../core/ports.ts";
import { FanoutRefusedError, type RefusedMessage } from "../core/refusal.ts";
import { toDomainError } from "./aws-errors.ts";

/** SQS SendMessageBatch and SNS PublishBatch share both limits: ten entries... */
const BATCH_ENTRIES = 10;
/** ...and 256 KiB of bodies and attributes together, on every queue and topic, old or new. */
const BATCH_BYTES = 256 * 1024;

/** One event as sent, by the SQS events queue and by the SNS events topic alike. */
export interface Entry {
  message: FanoutMessage;
  /** FIFO deduplication id: the `eventId`, so SQS or SNS drops a repeat sent within its 5-minute window. */
  deduplicationId: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  bytes: number;
}

/** A batch entry the service did not take; SQS and SNS report them with the same fields. */
export interface FailedEntry {
  Id: string | undefined;
  SenderFault: boolean | undefined;
  Code: string | undefined;
  Message?: string | undefined;
}

/** How one service takes a batch of events: the part SQS and SNS do not share. */
export interface BatchSender {
  /** "SQS" or "SNS", in the reasons and errors. */
  service: string;
  /** The call, in the error an outage throws, e.g. "SQS SendMessageBatch (events)". */
  operation: string;
  /** Error names raised for what a request holds: retried one message at a time to find the culprit. */
  contentErrors: ReadonlySet<string>;
  /** Sends one batch (entry ids are the indexes in it); returns the entries the service did not take. */
  sendBatch(batch: Entry[]): Promise<FailedEntry[]>;
}

/** The events port over one service's batch call (the SQS events queue, the SNS events topic). */
export class BatchedEventQueue implements EventQueue {
  constructor(private readonly sender: BatchSender) {}

  send(messages: FanoutMessage[], options: SendOptions = {}): Promise<void> {
    return sendEvents(this.sender, messages, options);
  }
}

/**
 * Sends the events in batches, one after another to keep their order. A message the service refuses
 * for its content never fails the others: they are sent, and {@link FanoutRefusedError} names it.
 */
export async function sendEvents(
  sender: BatchSender,
  messages: FanoutMessage[],
  options: SendOptions,
): Promise<void> {
  const refused: RefusedMessage[] = [];
  for (const batch of batchesOf(messages.map((message) => toEntry(message, options)))) {
    refused.push(...(await sendBatch(sender, batch)));
  }
  if (refused.length) throw new FanoutRefusedError(refused);
}

async function sendBatch(sender: BatchSender, batch: Entry[]): Promise<RefusedMessage[]> {
  let failed: FailedEntry[];
  try {
    failed = await sender.sendBatch(batch);
  } catch (error) {
    return refusedWhole(sender, batch, error);
  }
  const transient = failed.find((entry) => !entry.SenderFault);
  // The caller's retry may send the sent ones again: the service or consumers drop them by eventId.
  if (transient)
    throw new TransientError(
      `${sender.service} could not take an event now: ${transient.Code}: ${transient.Message}`,
    );
  return failed.map((entry) => ({
    eventId: batch[Number(entry.Id)]?.message.eventId ?? "",
    reason: `${sender.service} refused the event: ${entry.Code}: ${entry.Message}`,
  }));
}

/** The whole call failed: an outage throws; a content error is narrowed to the message(s) at fault. */
async function refusedWhole(sender: BatchSender, batch: Entry[], error: unknown): Promise<RefusedMessage[]> {
  const name = (error as { name?: string })?.name ?? "";
  if (!sender.contentErrors.has(name)) throw toDomainError(sender.operation, error);
  if (batch.length > 1) {
    const refused: RefusedMessage[] = [];
    for (const entry of batch) refused.push(...(await sendBatch(sender, [entry])));
    return refused;
  }
  const message = (error as Error).message;
  return batch.map((entry) => ({
    eventId: entry.message.eventId,
    reason: `${sender.service} refused the event: ${name}: ${message}`,
  }));
}

export function toEntry(message: FanoutMessage, options: SendOptions): Entry {
  const body = asciiJson(message);
  const deduplicationId = options.resendId ? `${message.eventId}:${options.resendId}` : message.eventId;
  const attributes = {
    type: { DataType: "String", StringValue: message.type },
    sn: { DataType: "String", StringValue: message.sn },
  };
  // SQS and SNS count the body and each attribute's name, type and value.
  const bytes =
    body.length + 2 * "String".length + "type".length + "sn".length + message.type.length + message.sn.length;
  return { message, deduplicationId, body, attributes, bytes };
}

export function batchesOf(entries: Entry[]): Entry[][] {
  const batches: Entry[][] = [];
  let current: Entry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (current.length === BATCH_ENTRIES || (current.length > 0 && bytes + entry.bytes > BATCH_BYTES)) {
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
