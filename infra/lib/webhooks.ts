import { fileURLToPath } from "node:url";
import { Duration } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type IQueue, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DEFAULT_RETRY_DELAYS_S } from "../../functions/core/webhooks/deliver.ts";
import { BridgeFunction } from "./bridge-function.ts";
import { grantSend, grantTable } from "./permissions.ts";

export const WEBHOOKS_ENTRY = fileURLToPath(new URL("../../functions/webhooks/handler.ts", import.meta.url));
/** One POST is cut at 5 s; a batch of 10 events, each to its subscribers side by side: 10 x 5 s at worst. */
export const WEBHOOK_TIMEOUT_MS = 5_000;
export const WEBHOOK_SENDER_TIMEOUT = Duration.seconds(60);
/** Reads subscriptions (Query, GetItem), counts deliveries (UpdateItem), keeps dead letters (PutItem). */
export const WEBHOOK_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:Query",
];
/** Events (or retries) per invocation: a FIFO event source takes at most 10. */
const BATCH_SIZE = 10;

export interface WebhookSenderProps {
  table: ITable;
  /** The events topic's raw copy for the sender (FIFO, group = sn). */
  webhooksQueue: IQueue;
  logRetention: RetentionDays;
  environment?: Record<string, string>;
}

/**
 * The webhook sender: one function on two queues. The webhooks FIFO queue brings each event once; every
 * failed POST becomes its own message on the delivery queue, a standard queue (FIFO queues cannot delay
 * one message), delayed 5 s to 15 min per attempt (`DEFAULT_RETRY_DELAYS_S`), so a receiver that is
 * down holds up neither the queue nor other receivers. Past the budget the event is a dead letter in
 * the table (`GET /v1/webhooks/{id}/dead-letters`); the delivery queue's own DLQ only takes messages the
 * sender itself kept failing on (the table unavailable).
 */
export class WebhookSender extends Construct {
  readonly function: BridgeFunction;
  readonly deliveryQueue: Queue;
  readonly deliveryDlq: Queue;

  constructor(scope: Construct, id: string, props: WebhookSenderProps) {
    super(scope, id);
    const encrypted = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };
    this.deliveryDlq = new Queue(this, "DeliveryDlq", { ...encrypted, retentionPeriod: Duration.days(14) });
    this.deliveryQueue = new Queue(this, "Delivery", {
      ...encrypted,
      // AWS asks for at least six times the consumer's timeout.
      visibilityTimeout: Duration.seconds(WEBHOOK_SENDER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deliveryDlq, maxReceiveCount: 10 },
    });
    this.function = new BridgeFunction(this, "Sender", {
      entry: WEBHOOKS_ENTRY,
      description: "emqx-serverless-bridge webhooks: events -> signed POSTs, retries, dead letters",
      memorySize: 256,
      timeout: WEBHOOK_SENDER_TIMEOUT,
      logRetention: props.logRetention,
      environment: {
        ...props.environment,
        TABLE_NAME: props.table.tableName,
        WEBHOOK_DELIVERY_QUEUE_URL: this.deliveryQueue.queueUrl,
        WEBHOOK_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS),
        WEBHOOK_RETRY_DELAYS_S: DEFAULT_RETRY_DELAYS_S.join(","),
      },
    });
    grantTable(this.function, props.table, { actions: WEBHOOK_TABLE_ACTIONS, index: false });
    grantSend(this.function, this.deliveryQueue);
    for (const queue of [props.webhooksQueue, this.deliveryQueue]) {
      this.function.function.addEventSource(
        new SqsEventSource(queue, { batchSize: BATCH_SIZE, reportBatchItemFailures: true }),
      );
    }
  }
}
