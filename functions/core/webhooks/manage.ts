import { randomBytes } from "node:crypto";
import type { Clock } from "../ports.ts";
import type { WebhookRequest } from "../schemas/webhooks.ts";
import { newWebhookSecret } from "./signature.ts";
import { statusOf, type WebhookStore, type WebhookSubscription } from "./subscription.ts";

/** A new subscription, stored; the answer carries its secret, which no later read shows again. */
export async function createSubscription(
  deps: { webhooks: WebhookStore; clock: Clock },
  request: WebhookRequest,
): Promise<WebhookSubscription> {
  const subscription: WebhookSubscription = {
    id: `wh_${randomBytes(16).toString("hex")}`,
    url: request.url,
    types: request.types,
    ...(request.sn ? { sn: request.sn } : {}),
    secret: request.secret ?? newWebhookSecret(),
    createdAt: deps.clock.now().toISOString(),
    delivered: 0,
    failedAttempts: 0,
    deadLettered: 0,
    consecutiveFailures: 0,
  };
  await deps.webhooks.create(subscription);
  return subscription;
}

/** A subscription as the API shows it: its status, counts and last error, never its secret. */
export function subscriptionView(subscription: WebhookSubscription) {
  const { secret: _secret, ...shown } = subscription;
  return { ...shown, status: statusOf(subscription) };
}
