import { mapWithConcurrency } from "../concurrency.ts";
import type { Clock } from "../ports.ts";
import type { DeliveryQueue, PendingDelivery, WebhookPoster } from "./ports.ts";
import { signWebhook } from "./signature.ts";
import { statusOf, type WebhookStore, type WebhookSubscription, wants } from "./subscription.ts";

/**
 * Seconds before each retry: attempt 2 comes 5 s after the first, attempt 9 about 70 minutes after it.
 * SQS delays a message at most 15 minutes, hence the cap. After the last, the event is dead-lettered.
 */
export const DEFAULT_RETRY_DELAYS_S = [5, 30, 120, 300, 900, 900, 900, 900] as const;
/** Receivers POSTed to at once by one batch. */
const CONCURRENT_POSTS = 16;

export interface WebhookDeps {
  store: WebhookStore;
  poster: WebhookPoster;
  retries: DeliveryQueue;
  clock: Clock;
  /** Seconds before attempt 2, 3, ...; its length + 1 is the retry budget. */
  retryDelaysS?: readonly number[];
}

/** The fields of a fan-out body a subscription filters on. */
export interface EventKey {
  type: string;
  sn: string;
  eventId: string;
}

export type AttemptOutcome = "delivered" | "retry_scheduled" | "dead_lettered" | "subscription_gone";

/** Deliveries that succeeded in a batch, per subscription: counted with one write each at its end. */
export type SuccessTally = Map<string, number>;

/**
 * One event off the webhooks queue: every subscription (of `subscriptions`, read once per batch) that
 * wants it gets a POST of `body` as is. A healthy subscription is tried at once; a failing one is handed
 * to the delivery queue instead, so a receiver that is down costs the others nothing (not even its
 * timeout). Successes go to `tally` (see {@link recordSuccesses}); failures are recorded at once.
 */
export async function deliverEvent(
  deps: WebhookDeps,
  subscriptions: WebhookSubscription[],
  event: { key: EventKey; body: string },
  tally: SuccessTally,
) {
  const targets = subscriptions.filter((subscription) => wants(subscription, event.key));
  const firstAttemptAt = deps.clock.now().toISOString();
  return mapWithConcurrency(targets, CONCURRENT_POSTS, async (subscription) => {
    const { id } = subscription;
    const delivery = {
      subscriptionId: id,
      eventId: event.key.eventId,
      body: event.body,
      attempt: 1,
      firstAttemptAt,
    };
    if (statusOf(subscription) === "failing") {
      await deps.retries.schedule(delivery, 0);
      return "retry_scheduled" as const;
    }
    const outcome = await attempt(deps, subscription, delivery);
    if (outcome === "delivered") tally.set(id, (tally.get(id) ?? 0) + 1);
    return outcome;
  });
}

/** One write per subscription that had deliveries in the batch. */
export async function recordSuccesses(deps: WebhookDeps, tally: SuccessTally): Promise<void> {
  const at = deps.clock.now().toISOString();
  await Promise.all([...tally].map(([id, count]) => deps.store.recordSuccess(id, at, count)));
}

/** A delivery from the delivery queue: tried again with the subscription as it is now. */
export async function deliverPending(deps: WebhookDeps, delivery: PendingDelivery): Promise<AttemptOutcome> {
  const subscription = await deps.store.get(delivery.subscriptionId);
  // Deleted since: its events go nowhere.
  if (!subscription) return "subscription_gone";
  const outcome = await attempt(deps, subscription, delivery);
  if (outcome === "delivered")
    await deps.store.recordSuccess(subscription.id, deps.clock.now().toISOString(), 1);
  return outcome;
}

/** One signed POST; on failure the next attempt is scheduled, or, past the budget, a dead letter written. */
async function attempt(
  deps: WebhookDeps,
  subscription: WebhookSubscription,
  delivery: PendingDelivery,
): Promise<AttemptOutcome> {
  const now = deps.clock.now();
  // Signed at each attempt: the timestamp says when this request was made, for the receiver's replay check.
  const headers = signWebhook(subscription.secret, {
    id: delivery.eventId,
    timestamp: Math.floor(now.getTime() / 1000),
    body: delivery.body,
  });
  const outcome = await deps.poster.post(subscription.url, delivery.body, headers);
  if (outcome.ok) return "delivered";
  await deps.store.recordFailure(subscription.id, outcome.error, now.toISOString());
  return retryOrDeadLetter(deps, delivery, outcome.error, now);
}

async function retryOrDeadLetter(
  deps: WebhookDeps,
  delivery: PendingDelivery,
  error: string,
  now: Date,
): Promise<AttemptOutcome> {
  const delays = deps.retryDelaysS ?? DEFAULT_RETRY_DELAYS_S;
  const delay = delays[delivery.attempt - 1];
  if (delay !== undefined) {
    await deps.retries.schedule({ ...delivery, attempt: delivery.attempt + 1 }, delay);
    return "retry_scheduled";
  }
  await deps.store.deadLetter({
    subscriptionId: delivery.subscriptionId,
    eventId: delivery.eventId,
    body: delivery.body,
    attempts: delivery.attempt,
    lastError: error,
    firstAttemptAt: delivery.firstAttemptAt,
    deadLetteredAt: now.toISOString(),
  });
  return "dead_lettered";
}
