import type { Logger } from "@aws-lambda-powertools/logger";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createWebhookDeps } from "../../functions/adapters/webhooks/deps.ts";
import { handleWebhookBatch } from "../../functions/webhooks/batch.ts";
import { startQueuePoller } from "./queue-poller.ts";

export interface WebhookSenderOptions {
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient };
  tableName: string;
  /** The FIFO queue of fan-out events the sender consumes (`bridge-webhooks.fifo`). */
  webhooksQueueUrl: string;
  /** The standard queue retries wait on; see {@link ensureWebhookDeliveryQueue}. */
  deliveryQueueUrl: string;
  /** Seconds before attempt 2, 3, ... (tests pass short ones); default the function's. */
  retryDelaysS?: readonly number[];
  timeoutMs?: number;
  logger: Logger;
}

/**
 * The webhook sender Lambda on a laptop: its handler fed by a long-poll loop on each of its two queues,
 * as the event source mappings do in AWS (infra/lib/webhooks.ts).
 */
export function startWebhookSender(options: WebhookSenderOptions) {
  const deps = {
    ...createWebhookDeps(
      {
        TABLE_NAME: options.tableName,
        AWS_REGION: "us-east-1",
        DYNAMODB_ENDPOINT: undefined,
        SQS_ENDPOINT: undefined,
        WEBHOOK_DELIVERY_QUEUE_URL: options.deliveryQueueUrl,
        WEBHOOK_TIMEOUT_MS: options.timeoutMs ?? 5_000,
        WEBHOOK_RETRY_DELAYS_S: undefined,
      },
      options.clients,
    ),
    ...(options.retryDelaysS ? { retryDelaysS: options.retryDelaysS } : {}),
  };
  const pollers = [options.webhooksQueueUrl, options.deliveryQueueUrl].map((queueUrl) =>
    startQueuePoller({
      sqs: options.clients.sqs,
      queueUrl,
      handler: (event) => handleWebhookBatch(deps, event, options.logger),
      onError: (error) => options.logger.error("webhook poller failed", { error }),
    }),
  );
  return { stop: () => Promise.all(pollers.map((p) => p.stop())).then(() => undefined) };
}

/**
 * The delivery queue (standard: FIFO queues cannot delay one message) and its DLQ for messages the
 * sender itself keeps failing on (a store outage); retries past the budget are dead letters in the
 * table, not here. Idempotent, as the CDK stack's in AWS.
 */
export async function ensureWebhookDeliveryQueue(sqs: SQSClient, name: string) {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  const redrive = { deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 10 };
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { VisibilityTimeout: "60", RedrivePolicy: JSON.stringify(redrive) },
    }),
  );
  return { url: queue.QueueUrl as string, dlqUrl: dlq.QueueUrl as string };
}
