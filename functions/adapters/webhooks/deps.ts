import { systemClock } from "../../core/ports.ts";
import type { WebhookDeps } from "../../core/webhooks/deliver.ts";
import type { WebhookSenderConfig } from "../../webhooks/config.ts";
import { createDynamoDbClient } from "../dynamodb/client.ts";
import { DynamoDbWebhookStore } from "../dynamodb/webhook-store.ts";
import { createSqsClient } from "../sqs/client.ts";
import { SqsWebhookDeliveryQueue } from "../sqs/webhook-delivery-queue.ts";
import { HttpWebhookPoster } from "./http-poster.ts";

/** The webhook sender's ports on AWS (or on the local stand-ins when endpoints are set). */
export function createWebhookDeps(
  config: WebhookSenderConfig,
  clients = {
    dynamodb: createDynamoDbClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT }),
    sqs: createSqsClient({ region: config.AWS_REGION, endpoint: config.SQS_ENDPOINT }),
  },
): WebhookDeps {
  return {
    store: new DynamoDbWebhookStore(clients.dynamodb, config.TABLE_NAME),
    poster: new HttpWebhookPoster(config.WEBHOOK_TIMEOUT_MS),
    retries: new SqsWebhookDeliveryQueue(clients.sqs, config.WEBHOOK_DELIVERY_QUEUE_URL),
    clock: systemClock,
    ...(config.WEBHOOK_RETRY_DELAYS_S ? { retryDelaysS: config.WEBHOOK_RETRY_DELAYS_S } : {}),
  };
}
