import { randomBytes } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { inject } from "vitest";
import { createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import type { IngestConfig } from "../../functions/adapters/config.ts";
import { createDynamoDbClient } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import { provision } from "../../local/provision.ts";
import { takeMessages } from "./take-messages.ts";

process.env.AWS_ACCESS_KEY_ID ??= "local";
process.env.AWS_SECRET_ACCESS_KEY ??= "local";

export const silentLogger = () => new Logger({ serviceName: "test", logLevel: "SILENT" });

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

/** A fresh table and events queue on the shared DynamoDB Local and SQS stand-in. */
export async function createTestResources() {
  const dynamodbEndpoint = inject("dynamodbEndpoint");
  const sqsEndpoint = inject("sqsEndpoint");
  const dynamodb = createDynamoDbClient({
    endpoint: dynamodbEndpoint,
    region: "us-east-1",
    requestTimeoutMs: 10_000,
  });
  const sqs = createSqsClient({ endpoint: sqsEndpoint, region: "us-east-1", requestTimeoutMs: 10_000 });
  const resources = await provision(
    { dynamodb, sqs },
    {
      tableName: uniqueName("bridge"),
      eventsQueue: uniqueName("events"),
      commandsQueue: uniqueName("commands"),
    },
  );
  const config: IngestConfig = {
    TABLE_NAME: resources.tableName,
    EVENTS_QUEUE_URL: resources.eventsQueueUrl,
    COMMANDS_QUEUE_URL: resources.commandsQueueUrl,
    INGEST_TOKENS: ["test-token-0123456789abcdef"],
    AWS_REGION: "us-east-1",
    DYNAMODB_ENDPOINT: dynamodbEndpoint,
    SQS_ENDPOINT: sqsEndpoint,
    INGEST_DEADLINE_MS: 8_000,
    MAX_BODY_BYTES: 256 * 1024,
    QUARANTINE_RETENTION_DAYS: 30,
    DEVICE_TOKEN_SECRETS: ["test-device-secret-0123456789abcdef0123"],
    DEVICE_REGISTRATION: "open",
    BROKER_SESSION_LIFETIME_S: 86_400,
  };
  return {
    ...resources,
    dynamodbEndpoint,
    sqsEndpoint,
    dynamodb,
    sqs,
    config,
    deps: createAwsDeps(config),
    /** Every item of one partition. */
    partition: (pk: string, skPrefix = "") => queryPartition(dynamodb, resources.tableName, pk, skPrefix),
    /** Takes every message now on the events queue (they are deleted, so calls do not see each other's). */
    async drainEvents(): Promise<FanoutMessage[]> {
      const out: FanoutMessage[] = [];
      for (;;) {
        const taken = await takeMessages(sqs, resources.eventsQueueUrl);
        if (taken.length === 0) return out;
        out.push(...taken);
      }
    },
    /** Consumes every message of one device's group (a FIFO group stays locked while a message is in flight). */
    async takeCommandMessages(sn: string) {
      const taken = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: resources.commandsQueueUrl,
            MaxNumberOfMessages: 10,
            MessageSystemAttributeNames: ["All"],
          }),
        );
        if (Messages.length === 0) return taken.filter((m) => m.Attributes?.MessageGroupId === sn);
        taken.push(...Messages);
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: resources.commandsQueueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    },
    destroy() {
      dynamodb.destroy();
      sqs.destroy();
    },
  };
}
/** Every item of one partition, read consistently. */
export async function queryPartition(
  dynamodb: DynamoDBClient,
  tableName: string,
  pk: string,
  skPrefix = "",
): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await dynamodb.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: skPrefix ? "pk = :pk AND begins_with(sk, :sk)" : "pk = :pk",
      ExpressionAttributeValues: { ":pk": { S: pk }, ...(skPrefix ? { ":sk": { S: skPrefix } } : {}) },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => unmarshall(item));
}

export type TestResources = Awaited<ReturnType<typeof createTestResources>>;
