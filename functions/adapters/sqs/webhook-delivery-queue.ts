import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import * as v from "valibot";
import { asciiJson } from "../../core/ascii-json.ts";
import { PendingDeliveryMessage } from "../../core/schemas/webhooks.ts";
import type { DeliveryQueue, PendingDelivery } from "../../core/webhooks/ports.ts";
import { send } from "../aws-errors.ts";

/** SQS delays a message at most 15 minutes. */
const MAX_DELAY_S = 900;

/**
 * The webhook delivery queue: a standard SQS queue (FIFO queues cannot delay one message), one message
 * per (event, subscription), made visible after the retry's delay. The message is the delivery as JSON;
 * `body` inside it is the event's body as a JSON string, so it comes back byte for byte.
 */
export class SqsWebhookDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async schedule(delivery: PendingDelivery, delaySeconds: number): Promise<void> {
    await send("SQS SendMessage (webhook delivery)", () =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: asciiJson(delivery),
          DelaySeconds: Math.max(0, Math.min(MAX_DELAY_S, Math.round(delaySeconds))),
        }),
      ),
    );
  }
}

/** A delivery queue message read back; `undefined` when it is not one. */
export function parsePendingDelivery(body: string): PendingDelivery | undefined {
  try {
    const result = v.safeParse(PendingDeliveryMessage, JSON.parse(body));
    return result.success ? result.output : undefined;
  } catch {
    return undefined;
  }
}
