/** What one POST to a receiver came to: 2xx is delivered, anything else (or no answer) failed. */
export type PostOutcome = { ok: true; status: number } | { ok: false; error: string };

/** Sends one signed request; never throws (a failure is an outcome). */
export interface WebhookPoster {
  post(url: string, body: string, headers: Record<string, string>): Promise<PostOutcome>;
}

/** One (event, subscription) delivery still to be attempted. */
export interface PendingDelivery {
  subscriptionId: string;
  eventId: string;
  /** The event's body, byte for byte as it came off the queue. */
  body: string;
  /** Which attempt comes next: 1 is the first. */
  attempt: number;
  firstAttemptAt: string;
}

/** Deliveries to try again later, each on its own (one slow receiver never holds up another's). */
export interface DeliveryQueue {
  schedule(delivery: PendingDelivery, delaySeconds: number): Promise<void>;
}
