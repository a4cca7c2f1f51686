import { type ApiKeyStore, firstOf, StaticApiKeyStore } from "../core/api-keys.ts";
import { type EventQueue, systemClock } from "../core/ports.ts";
import type { ApiConfig, BaseConfig } from "./config.ts";
import { DynamoDbApiKeyStore } from "./dynamodb/api-key-store.ts";
import { DynamoDbAttendanceStore } from "./dynamodb/attendance-store.ts";
import { createDynamoDbClient } from "./dynamodb/client.ts";
import { DynamoDbCommandStore } from "./dynamodb/command-store.ts";
import { DynamoDbDeviceRegistry } from "./dynamodb/device-registry.ts";
import { DynamoDbDeviceTransportStore } from "./dynamodb/device-transport.ts";
import { DynamoDbGapStore } from "./dynamodb/gap-store.ts";
import { DynamoDbPresenceStore } from "./dynamodb/presence-store.ts";
import { DynamoDbQuarantineStore } from "./dynamodb/quarantine-store.ts";
import { DynamoDbReaders } from "./dynamodb/readers.ts";
import { DynamoDbShadowStore } from "./dynamodb/shadow-store.ts";
import { DynamoDbWebhookStore } from "./dynamodb/webhook-store.ts";
import { createJobPorts } from "./job-deps.ts";
import { createSnsClient } from "./sns/client.ts";
import { SnsEventTopic } from "./sns/event-topic.ts";
import { createSqsClient } from "./sqs/client.ts";
import { SqsCommandQueue } from "./sqs/command-queue.ts";
import { SqsEventQueue } from "./sqs/event-queue.ts";

/** The SDK clients every port shares (the bench passes its own, to count their requests). */
export interface AwsClients {
  dynamodb: ReturnType<typeof createDynamoDbClient>;
  sqs: ReturnType<typeof createSqsClient>;
  /** Only used when `EVENTS_TOPIC_ARN` is set; made from the config when not given. */
  sns?: ReturnType<typeof createSnsClient>;
}

export function awsClients(config: BaseConfig): AwsClients {
  return {
    dynamodb: createDynamoDbClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT }),
    sqs: createSqsClient({ region: config.AWS_REGION, endpoint: config.SQS_ENDPOINT }),
  };
}

/** The events port: the SNS FIFO topic when one is configured, else the events queue itself. */
function eventsPort(config: BaseConfig, clients: AwsClients): EventQueue {
  if (!config.EVENTS_TOPIC_ARN) return new SqsEventQueue(clients.sqs, config.EVENTS_QUEUE_URL);
  const sns = clients.sns ?? createSnsClient({ region: config.AWS_REGION, endpoint: config.SNS_ENDPOINT });
  return new SnsEventTopic(sns, config.EVENTS_TOPIC_ARN);
}

/**
 * Every port on AWS (or on DynamoDB Local and the SQS stand-in when endpoints are set). Clients are made
 * lazily by the SDK on first use, so a function pays only for what it touches.
 */
export function createAwsDeps(
  config: BaseConfig & { QUARANTINE_RETENTION_DAYS?: number },
  clients: AwsClients = awsClients(config),
) {
  const { dynamodb, sqs } = clients;
  return {
    attendance: new DynamoDbAttendanceStore(dynamodb, config.TABLE_NAME),
    presence: new DynamoDbPresenceStore(dynamodb, config.TABLE_NAME),
    quarantine: new DynamoDbQuarantineStore(
      dynamodb,
      config.TABLE_NAME,
      config.QUARANTINE_RETENTION_DAYS ?? 30,
    ),
    commands: new DynamoDbCommandStore(dynamodb, config.TABLE_NAME),
    events: eventsPort(config, clients),
    // The commands queue subscribed to the events topic's `queued` announcements (infra, the local stack).
    queue: new SqsCommandQueue(sqs, config.COMMANDS_QUEUE_URL, {
      fedByAnnouncements: Boolean(config.EVENTS_TOPIC_ARN && config.COMMANDS_SUBSCRIPTION_ARN),
    }),
    devices: new DynamoDbDeviceRegistry(dynamodb, config.TABLE_NAME),
    shadows: new DynamoDbShadowStore(dynamodb, config.TABLE_NAME),
    transports: new DynamoDbDeviceTransportStore(dynamodb, config.TABLE_NAME),
    /** Named API keys only: bootstrap keys from `API_KEYS` belong to the API function, not to MQTT apps. */
    apiKeys: new DynamoDbApiKeyStore(dynamodb, config.TABLE_NAME) as ApiKeyStore,
    clock: systemClock,
  };
}

/** The API's ports: the command path, the readers, and API keys (bootstrap keys from config, then the table). */
export function createApiDeps(config: ApiConfig, clients: AwsClients = awsClients(config)) {
  const deps = createAwsDeps(config, clients);
  const { dynamodb } = clients;
  const bootstrap = new StaticApiKeyStore(
    config.API_KEYS.map((key, i) => ({ name: `bootstrap-${i + 1}`, key, scopes: ["admin"] })),
  );
  return {
    ...deps,
    keys: firstOf(bootstrap, new DynamoDbApiKeyStore(dynamodb, config.TABLE_NAME)),
    reader: new DynamoDbReaders(dynamodb, config.TABLE_NAME),
    /** The gap tracker's items, read by `/v1/devices/{sn}/gaps` and `/v1/gaps`. */
    gaps: new DynamoDbGapStore(dynamodb, config.TABLE_NAME),
    webhooks: new DynamoDbWebhookStore(dynamodb, config.TABLE_NAME),
    ...createJobPorts(config, clients),
  };
}
