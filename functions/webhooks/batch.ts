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
  type EventKey,
  recordSuccesses,
  type SuccessTally,
  type WebhookDeps,
} from "../core/webhooks/deliver.ts";
import type { PendingDelivery } from "../core/webhooks/ports.ts";
import type { WebhookSubscription } from "../core/webhooks/subscription.ts";

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

/** Devices' events side by side, each device's in order (its FIFO message group). */
const CONCURRENT_DEVICES = 10;

type EventRecord = { record: SQSRecord; key: EventKey; body: string };

async function deliverInOrder(deps: WebhookDeps, records: SQSRecord[], logger: Logger): Promise<string[]> {
  const events = records.flatMap((record) => {
    const key = eventKey(record.body);
    if (key) return [{ record, key, body: record.body }];
    logger.error("dropping a webhooks-queue message that is not a fan-out event", {
      messageId: record.messageId,
    });
    return [];
  });
  if (!events.length) return [];
  let subscriptions: WebhookSubscription[];
  try {
    subscriptions = await deps.store.list();
  } catch (error) {
    logger.warn("could not read the webhook subscriptions; the batch will come again", {
      error: errorText(error),
    });
    return events.map((e) => e.record.messageId);
  }
  const tally: SuccessTally = new Map();
  const failed = await mapWithConcurrency([...byDevice(events).values()], CONCURRENT_DEVICES, (group) =>
    deliverGroup(deps, subscriptions, group, tally, logger),
  );
  // Counts lost to an outage here are only counts: the deliveries happened.
  await recordSuccesses(deps, tally).catch((error) =>
    logger.warn("could not count webhook deliveries", { error: errorText(error) }),
  );
  return failed.flat();
}

/** One device's events in order; once one fails, it and the later ones come again (FIFO). */
async function deliverGroup(
  deps: WebhookDeps,
  subscriptions: WebhookSubscription[],
  group: EventRecord[],
  tally: SuccessTally,
  logger: Logger,
): Promise<string[]> {
  for (const [index, event] of group.entries()) {
    try {
      const outcomes = await deliverEvent(deps, subscriptions, event, tally);
      if (outcomes.length)
        logger.debug("webhook event handled", {
          eventId: event.key.eventId,
          outcomes: countOutcomes(outcomes),
        });
    } catch (error) {
      logger.warn("could not hand an event to its webhooks; it will come again", {
        eventId: event.key.eventId,
        error: errorText(error),
      });
      return group.slice(index).map((e) => e.record.messageId);
    }
  }
  return [];
}

function byDevice(events: EventRecord[]): Map<string, EventRecord[]> {
  const groups = new Map<string, EventRecord[]>();
  for (const event of events) groups.set(event.key.sn, [...(groups.get(event.key.sn) ?? []), event]);
  return groups;
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

function countOutcomes(outcomes: AttemptOutcome[]): Partial<Record<AttemptOutcome, number>> {
  const counts: Partial<Record<AttemptOutcome, number>> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
