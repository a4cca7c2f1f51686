import type { SQSClient } from "@aws-sdk/client-sqs";
import { BatchedEventQueue } from "../event-batches.ts";
import { sendFifoBatch } from "./fifo-batch.ts";

/** Errors SQS raises for what a request holds: retried one message at a time to find the culprit. */
const CONTENT_ERRORS = new Set([
  "InvalidMessageContents",
  "BatchRequestTooLong",
  "InvalidParameterValue",
  "InvalidAttributeValue",
]);

/**
 * The events queue, an SQS FIFO queue: one message group per device (`sn`), so a device's messages reach
 * consumers in the order sent, and the `eventId` as deduplication id, so SQS drops a repeat sent within
 * 5 minutes (consumers drop later ones by `eventId`). Message attributes `type` and `sn` for filters,
 * bodies as ASCII-only JSON (always valid SQS text), batches of at most ten and 256 KiB, sent one after
 * another to keep their order. A message SQS refuses for its content never fails the others: they are
 * sent, and `FanoutRefusedError` names it (functions/adapters/event-batches.ts).
 */
export class SqsEventQueue extends BatchedEventQueue {
  constructor(client: SQSClient, queueUrl: string) {
    super({
      service: "SQS",
      operation: "SQS SendMessageBatch (events)",
      contentErrors: CONTENT_ERRORS,
      sendBatch: (batch) =>
        sendFifoBatch(
          client,
          queueUrl,
          batch.map((entry) => ({ ...entry, groupId: entry.message.sn })),
        ),
    });
  }
}
