import { CreateQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { DynamoDbReaders } from "../../functions/adapters/dynamodb/readers.ts";
import { DynamoDbWebhookStore } from "../../functions/adapters/dynamodb/webhook-store.ts";
import { createApiApp } from "../../functions/api/app.ts";
import { newApiKey, StaticApiKeyStore } from "../../functions/core/api-keys.ts";
import { asciiJson } from "../../functions/core/ascii-json.ts";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import { serveApp } from "../../local/services/http-server.ts";
import { ensureWebhookDeliveryQueue, startWebhookSender } from "../../local/services/webhook-sender.ts";
import { createTestResources, silentLogger, uniqueName } from "./resources.ts";

/**
 * The webhook path on real parts: DynamoDB Local, the SQS stand-in (a FIFO webhooks queue standing for
 * the SNS subscription, and the delivery queue), the API over HTTP, and the sender's pollers with short
 * retry delays: attempts 2, 3 and 4 after 0, 1 and 1 s, then the dead letter.
 */
export async function startWebhookFixture(retryDelaysS: readonly number[] = [0, 1, 1]) {
  const env = await createTestResources();
  const { QueueUrl: webhooksQueueUrl = "" } = await env.sqs.send(
    new CreateQueueCommand({
      QueueName: `${uniqueName("webhooks")}.fifo`,
      Attributes: { FifoQueue: "true" },
    }),
  );
  const delivery = await ensureWebhookDeliveryQueue(env.sqs, uniqueName("webhook-deliveries"));
  const store = new DynamoDbWebhookStore(env.dynamodb, env.tableName);
  const admin = newApiKey("ops", ["admin"]).key;
  const reader = newApiKey("reader", ["read"]).key;
  const keys = new StaticApiKeyStore([
    { name: "ops", key: admin, scopes: ["admin"] },
    { name: "reader", key: reader, scopes: ["read"] },
  ]);
  const app = createApiApp(
    { ...env.deps, keys, reader: new DynamoDbReaders(env.dynamodb, env.tableName), webhooks: store },
    { logger: silentLogger() },
  );
  const api = await serveApp(app.fetch);
  const sender = startWebhookSender({
    clients: { dynamodb: env.dynamodb, sqs: env.sqs },
    tableName: env.tableName,
    webhooksQueueUrl,
    deliveryQueueUrl: delivery.url,
    retryDelaysS,
    timeoutMs: 2_000,
    logger: silentLogger(),
  });
  const call = async (method: string, path: string, body?: unknown, key = admin) => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the tests read answers field by field and compare them whole.
    const json: any = await response.json();
    return { status: response.status, headers: response.headers, body: json };
  };
  return {
    env,
    store,
    keys: { admin, reader },
    call,
    /** Puts a fan-out event on the webhooks queue as SNS would, in one message group (so in order). */
    async publish(event: FanoutMessage): Promise<string> {
      const body = asciiJson(event);
      await env.sqs.send(
        new SendMessageCommand({
          QueueUrl: webhooksQueueUrl,
          MessageBody: body,
          MessageGroupId: "test",
          MessageDeduplicationId: event.eventId,
        }),
      );
      return body;
    },
    async stop() {
      await sender.stop();
      await api.stop();
      env.destroy();
    },
  };
}

export type WebhookFixture = Awaited<ReturnType<typeof startWebhookFixture>>;
