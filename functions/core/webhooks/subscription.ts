import type { FanoutType } from "../fanout.ts";

/** Failed attempts in a row after which a subscription shows `failing` (one success clears it). */
export const FAILING_AFTER_FAILURES = 3;

/** What an operator asks for: `POST /v1/webhooks`. */
export interface WebhookFilter {
  url: string;
  /** Only these kinds of event. */
  types: FanoutType[];
  /** Only this device's events; every device's when absent. */
  sn?: string;
}

/** A subscription as stored: the filter, its signing secret, and how its deliveries went. */
export interface WebhookSubscription extends WebhookFilter {
  id: string;
  /** `whsec_...`; kept to sign with, shown to the operator only in the answer that created it. */
  secret: string;
  createdAt: string;
  delivered: number;
  failedAttempts: number;
  deadLettered: number;
  /** Failed attempts since the last success. */
  consecutiveFailures: number;
  lastSuccessAt?: string;
  lastError?: string;
  lastErrorAt?: string;
}

export type WebhookStatus = "active" | "failing";

export function statusOf(subscription: WebhookSubscription): WebhookStatus {
  return subscription.consecutiveFailures >= FAILING_AFTER_FAILURES ? "failing" : "active";
}

/** Whether an event is one `subscription` asked for. */
export function wants(subscription: WebhookFilter, event: { type: string; sn: string }): boolean {
  if (subscription.sn !== undefined && subscription.sn !== event.sn) return false;
  return (subscription.types as string[]).includes(event.type);
}

/** One event that could not be delivered within the retry budget; kept for an operator to list. */
export interface DeadLetter {
  subscriptionId: string;
  eventId: string;
  /** The event's body as it would have been POSTed. */
  body: string;
  attempts: number;
  lastError: string;
  firstAttemptAt: string;
  deadLetteredAt: string;
}

/** Subscriptions and their delivery records. */
export interface WebhookStore {
  create(subscription: WebhookSubscription): Promise<void>;
  get(id: string): Promise<WebhookSubscription | undefined>;
  /** Every subscription (a handful: they are read once per batch of events). */
  list(): Promise<WebhookSubscription[]>;
  /** False when there was none. */
  delete(id: string): Promise<boolean>;
  /** Counts `count` delivered attempts and clears the failures in a row (nothing when the subscription is gone). */
  recordSuccess(id: string, at: string, count: number): Promise<void>;
  recordFailure(id: string, error: string, at: string): Promise<void>;
  deadLetter(letter: DeadLetter): Promise<void>;
  /** A subscription's dead letters, newest first. */
  listDeadLetters(id: string, limit: number): Promise<DeadLetter[]>;
}
