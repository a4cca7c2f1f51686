import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import * as v from "valibot";
import { parsePendingDelivery } from "../adapters/sqs/webhook-delivery-queue.ts";
import { mapWithConcurrency } from "../core/concurrency.ts";
import { FanoutKey } from "../core/schemas/webhooks.ts";
import {
  type AttemptOutcome,
  deliverEvent,
  deliverPending,
  type WebhookDeps,
} from "../core/webhooks/deliver.ts";
import type { PendingDelivery } from "../core/webhooks/ports.ts";

/** Retries handled at once: each waits on its own receiver. */
const CONCURRENT_RETRIES = 10;

/**
 * The webhook sender's SQS batch, from either of its two queues: events (the FIFO webhooks queue, bodies
 * exactly the fan-out messages) and pending deliveries (the delivery queue's retries). Events are taken
 * in order, and once one fails (the store or the delivery queue unavailable) it and every later one are
 * reported for a retry, as a FIFO queue requires; retries are independent and run side by side.
 * Nothing secret is logged: subscription ids, event ids and errors, never a secret or a URL.
 */
export async function handleWebhookBatch(
  deps: WebhookDeps,
  event: SQSEvent,
  logger: Logger,
): Promise<SQSBatchResponse> {
  const retries: Array<{ record: SQSRecord; delivery: PendingDelivery }> = [];
  const events: SQSRecord[] = [];
  for (const record of event.Records) {
    const delivery = parsePendingDelivery(record.body);
    if (delivery) retries.push({ record, delivery });
    else events.push(record);
  }
  const failed = [
    ...(await retryAll(deps, retries, logger)),
    ...(await deliverInOrder(deps, events, logger)),
  ];
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

async function deliverInOrder(deps: WebhookDeps, records: SQSRecord[], logger: Logger): Promise<string[]> {
  for (const [index, record] of records.entries()) {
    const key = eventKey(record.body);
    if (!key) {
      logger.error("dropping a webhooks-queue message that is not a fan-out event", {
        messageId: record.messageId,
      });
      continue;
    }
    try {
      const outcomes = await deliverEvent(deps, key, record.body);
      if (outcomes.length)
        logger.debug("webhook event delivered", { eventId: key.eventId, outcomes: tally(outcomes) });
    } catch (error) {
      logger.warn("could not hand an event to its webhooks; it will come again", {
        eventId: key.eventId,
        error: errorText(error),
      });
      return records.slice(index).map((r) => r.messageId);
    }
  }
  return [];
}

async function retryAll(
  deps: WebhookDeps,
  retries: Array<{ record: SQSRecord; delivery: PendingDelivery }>,
  logger: Logger,
): Promise<string[]> {
  const failed = await mapWithConcurrency(retries, CONCURRENT_RETRIES, async ({ record, delivery }) => {
    const fields = {
      subscriptionId: delivery.subscriptionId,
      eventId: delivery.eventId,
      attempt: delivery.attempt,
    };
    try {
      const outcome = await deliverPending(deps, delivery);
      // A dead letter is something an operator should look at.
      if (outcome === "dead_lettered") logger.error("webhook delivery dead-lettered", fields);
      else logger.debug("webhook retry", { ...fields, outcome });
      return undefined;
    } catch (error) {
      logger.warn("could not retry a webhook delivery; it will come again", {
        ...fields,
        error: errorText(error),
      });
      return record.messageId;
    }
  });
  return failed.filter((id): id is string => id !== undefined);
}

function eventKey(body: string) {
  try {
    const result = v.safeParse(FanoutKey, JSON.parse(body));
    return result.success ? result.output : undefined;
  } catch {
    return undefined;
  }
}

function tally(outcomes: AttemptOutcome[]): Partial<Record<AttemptOutcome, number>> {
  const counts: Partial<Record<AttemptOutcome, number>> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
