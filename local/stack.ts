import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { createApiDeps, createAwsDeps } from "../functions/adapters/aws-deps.ts";
import { createDynamoDbClient } from "../functions/adapters/dynamodb/client.ts";
import { type EmqxApiOptions, EmqxPublishClient } from "../functions/adapters/emqx/publish-client.ts";
import { EmqxSessionsClient } from "../functions/adapters/emqx/sessions-client.ts";
import { createSqsClient } from "../functions/adapters/sqs/client.ts";
import { createApiApp } from "../functions/api/app.ts";
import { appRequestsDeps } from "../functions/api/mqtt-requests/deps.ts";
import { handleDeadLetters } from "../functions/command-dlq/batch.ts";
import type { DevicePublisher } from "../functions/core/commands/ports.ts";
import { handleFeedBatch } from "../functions/feed/batch.ts";
import { createIngestApp } from "../functions/ingest/app.ts";
import { handleCommandBatch } from "../functions/publisher/batch.ts";
import { type EmqxStandIn, startEmqxStandIn } from "./emqx/index.ts";
import { type LocalGapTracker, type LocalGapTrackerOptions, startGapTracker } from "./gaps.ts";
import { provision } from "./provision.ts";
import { type MqttBroker, startBroker } from "./services/broker.ts";
import { type DynamoDbLocalOptions, startDynamoDbLocal } from "./services/dynamodb-local.ts";
import { serveApp } from "./services/http-server.ts";
import { ensureJobsQueue, startJobsWorker } from "./services/jobs-worker.ts";
import { startQueuePoller } from "./services/queue-poller.ts";
import { startSqsLocal } from "./services/sqs-local.ts";
import { ensureWebhookDeliveryQueue, startWebhookSender } from "./services/webhook-sender.ts";
import { rememberFleetSecret } from "./simulator/credentials.ts";

export const RULES_DIR = fileURLToPath(new URL("../emqx-rules/generated/", import.meta.url));

export interface LocalStackOptions {
  host?: string;
  /** 0 (the default) picks a free port; `npm start` passes fixed ones from the environment. */
  ports?: Partial<Record<"dynamodb" | "sqs" | "mqtt" | "mqttWs" | "ingest" | "api" | "emqxApi", number>>;
  /** Reuse running stand-ins instead of starting new ones (tests share one DynamoDB Local). */
  dynamodbEndpoint?: string;
  /** How patient to be with DynamoDB Local, and where to say that it is still starting. */
  dynamodbLocal?: DynamoDbLocalOptions;
  sqsEndpoint?: string;
  tableName?: string;
  eventsQueue?: string;
  commandsQueue?: string;
  ingestTokens?: string[];
  /** Secrets HTTP devices' tokens are derived from; one random secret when unset, `[]` disables HTTP devices. */
  deviceTokenSecrets?: string[];
  apiKeys?: string[];
  emqxApiKey?: string;
  emqxApiSecret?: string;
  /**
   * Whether the EMQX stand-in authenticates clients through the ingest's `POST /emqx/authn` and enforces
   * the ACLs (the shipped access configuration); on unless `false`. Devices log in with client id =
   * username = serial number and their device token; apps with an API key's name and the key.
   */
  brokerAuthentication?: boolean;
  /** EMQX retry timing; tests compress it. */
  emqxTiming?: { requestTtlMs?: number; resumeIntervalMs?: number };
  /** The gap tracker's schedule and settings (local/gaps.ts); `false`: not started. */
  gapTracker?: LocalGapTrackerOptions | false;
  /** Drops publishes between device and ingest, as an overflowing EMQX buffer does (soak --lose). */
  dropPublish?: (topic: string, payload: Buffer) => boolean;
  /** Seconds before webhook attempt 2, 3, ... (tests shorten them); default the sender's (5 s to 15 min). */
  webhookRetryDelaysS?: number[];
  /** Seconds between a running job's checks (default 1 locally; 10 in AWS). */
  jobCheckSeconds?: number;
  logLevel?: LogLevel;
  log?: (line: string) => void;
}

export interface LocalStack {
  endpoints: {
    dynamodb: string;
    sqs: string;
    mqtt: string;
    mqttWs: string;
    ingest: string;
    api: string;
    emqxApi: string;
  };
  tableName: string;
  eventsQueueUrl: string;
  eventsDlqUrl: string;
  commandsQueueUrl: string;
  commandsDlqUrl: string;
  /** The jobs queue (fan-out slices, checks, cancels); the jobs worker polls it. */
  jobsQueueUrl: string;
  /** The SNS FIFO topic the bridge publishes events to; the three queues below and above subscribe to it. */
  eventsTopicArn: string;
  /** The feed publisher's queue (raw copies of the events). */
  feedQueueUrl: string;
  feedDlqUrl: string;
  /** The webhook sender's queue (raw copies of the events). */
  webhooksQueueUrl: string;
  webhooksDlqUrl: string;
  ingestTokens: string[];
  /** Derive a device's token with `deriveDeviceToken(deviceTokenSecrets[0], sn)` (or `npm run device-token`). */
  deviceTokenSecrets: string[];
  apiKeys: string[];
  emqxApiKey: string;
  emqxApiSecret: string;
  broker: MqttBroker;
  emqx: EmqxStandIn;
  publisherStats: PublisherStats;
  /** What the feed publisher did: feed-queue batches, messages in them, EMQX bulk calls. */
  feedStats: PublisherStats;
  /** The gap tracker (absent with `gapTracker: false`). */
  gaps?: LocalGapTracker;
  stop(): Promise<void>;
}

const randomSecret = () => randomBytes(24).toString("base64url");

/**
 * The whole system on one machine: DynamoDB Local, the SQS stand-in, an aedes broker, the EMQX stand-in
 * driven by `emqx-rules/generated/`, the ingest and API apps on @hono/node-server, and the publisher fed
 * by a long-poll loop on the commands queue. Everything binds to loopback.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  const host = options.host ?? "127.0.0.1";
  const ports = options.ports ?? {};
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
  };
  try {
    const dynamodb = options.dynamodbEndpoint
      ? { endpoint: options.dynamodbEndpoint }
      : await started(stops, startDynamoDbLocal(ports.dynamodb, options.dynamodbLocal));
    const sqs = options.sqsEndpoint
      ? { endpoint: options.sqsEndpoint }
      : await started(stops, startSqsLocal(ports.sqs, host));
    const clients = {
      dynamodb: createDynamoDbClient({
        endpoint: dynamodb.endpoint,
        region: "us-east-1",
        requestTimeoutMs: 10_000,
      }),
      sqs: createSqsClient({ endpoint: sqs.endpoint, region: "us-east-1", requestTimeoutMs: 10_000 }),
    };
    const resources = await provision(clients, {
      tableName: options.tableName ?? "bridge",
      eventsQueue: options.eventsQueue ?? "bridge-events",
      commandsQueue: options.commandsQueue ?? "bridge-commands",
    });
    const commandsQueueName = options.commandsQueue ?? "bridge-commands";
    const jobsQueue = await ensureJobsQueue(clients.sqs, commandsQueueName.replace("commands", "jobs"));
    const ingestTokens = options.ingestTokens ?? [randomSecret()];
    const deviceTokenSecrets = options.deviceTokenSecrets ?? [randomSecret()];
    const baseConfig = {
      TABLE_NAME: resources.tableName,
      EVENTS_QUEUE_URL: resources.eventsQueueUrl,
      // As in AWS: events go to the SNS FIFO topic, which copies them to the events, feed and webhooks queues.
      EVENTS_TOPIC_ARN: resources.eventsTopicArn,
      COMMANDS_QUEUE_URL: resources.commandsQueueUrl,
      // As in AWS: the commands queue takes the `queued` announcements, so a new command is sent once.
      COMMANDS_SUBSCRIPTION_ARN: resources.commandsSubscriptionArn,
      JOBS_QUEUE_URL: jobsQueue.url,
      AWS_REGION: "us-east-1",
      DYNAMODB_ENDPOINT: dynamodb.endpoint,
      SQS_ENDPOINT: sqs.endpoint,
      SNS_ENDPOINT: sqs.endpoint,
    };
    const deps = createAwsDeps(baseConfig);
    const gapQueue = `${options.eventsQueue ?? "bridge-events"}-gaps`;
    const gaps =
      options.gapTracker === false
        ? undefined
        : await startGapTracker(
            clients,
            deps,
            { tableName: resources.tableName, queueName: gapQueue },
            options.gapTracker,
          );
    if (gaps) stops.push(() => gaps.stop());
    const logger = new Logger({ serviceName: "bridge-ingest", logLevel: options.logLevel ?? "WARN" });
    const app = createIngestApp(gaps ? { ...deps, reports: gaps.reports } : deps, {
      tokens: ingestTokens,
      deviceTokenSecrets,
      deadlineMs: 8_000,
      maxBodyBytes: 256 * 1024,
      logger,
    });
    const ingest = await started(stops, serveApp(app.fetch, { host, port: ports.ingest }));
    const apiKeys = options.apiKeys ?? [randomSecret()];
    // The given keys are bootstrap keys (scope admin); more can be made with `npm run api-key`.
    const broker = await started(stops, startBroker({ host, port: ports.mqtt, wsPort: ports.mqttWs }));
    // Simulated devices pointed at this broker derive their MQTT passwords from this run's secret.
    const forgetSecret = rememberFleetSecret(broker.mqttUrl, deviceTokenSecrets[0]);
    stops.push(async () => forgetSecret());
    const emqxApiKey = options.emqxApiKey ?? `bridge-${randomBytes(4).toString("hex")}`;
    const emqxApiSecret = options.emqxApiSecret ?? randomSecret();
    // Served before the stand-in, whose requests rule posts to it; the app is set once EMQX's API is up.
    let apiFetch: (request: Request) => Response | Promise<Response> = () =>
      new Response(null, { status: 503 });
    const api = await started(
      stops,
      serveApp((request) => apiFetch(request), { host, port: ports.api }),
    );
    const emqx = await started(
      stops,
      startEmqxStandIn({
        broker: broker.broker,
        rulesDir: RULES_DIR,
        ingestUrl: ingest.url,
        ingestToken: ingestTokens[0] as string,
        apiUrl: api.url,
        api: { host, port: ports.emqxApi ?? 0, key: emqxApiKey, secret: emqxApiSecret },
        ...(options.brokerAuthentication === false ? {} : { access: {} }),
        ...(options.emqxTiming ? { timing: options.emqxTiming } : {}),
        ...(options.dropPublish ? { dropPublish: options.dropPublish } : {}),
        ...(options.log ? { log: options.log } : {}),
      }),
    );
    // After the stand-in: the API kicks revoked devices through its management API.
    const apiDeps = {
      ...createApiDeps({ ...baseConfig, API_KEYS: apiKeys }),
      sessions: new EmqxSessionsClient({
        baseUrl: emqx.apiUrl ?? "",
        apiKey: emqxApiKey,
        apiSecret: emqxApiSecret,
      }),
      deviceTokenSecrets,
      // The API over MQTT: EMQX's requests rule posts with the ingest's token; answers go through EMQX's API.
      appRequests: appRequestsDeps({
        tokens: ingestTokens,
        dynamodb: clients.dynamodb,
        tableName: resources.tableName,
        emqx: { baseUrl: emqx.apiUrl ?? "", apiKey: emqxApiKey, apiSecret: emqxApiSecret },
      }),
    };
    const apiApp = createApiApp(apiDeps, {
      logger: logger.createChild({ serviceName: "bridge-api" }),
      liveBrokerWsUrl: broker.wsUrl, // the live page connects to this stack's broker
    });
    apiFetch = apiApp.fetch;
    const emqxApiOptions = { baseUrl: emqx.apiUrl ?? "", apiKey: emqxApiKey, apiSecret: emqxApiSecret };
    const publisher = startPublisher(deps, clients.sqs, resources, emqxApiOptions, logger);
    stops.push(() => publisher.stop());
    const feed = startFeed(clients.sqs, resources.feedQueueUrl, emqxApiOptions, logger);
    stops.push(() => feed.stop());
    const jobsWorker = startJobsWorker(baseConfig, options.jobCheckSeconds ?? 1, logger);
    stops.push(() => jobsWorker.stop());
    const webhookSender = await startLocalWebhookSender(clients, resources, options, logger);
    stops.push(() => webhookSender.stop());
    stops.push(async () => {
      clients.dynamodb.destroy();
      clients.sqs.destroy();
    });
    return {
      endpoints: {
        dynamodb: dynamodb.endpoint,
        sqs: sqs.endpoint,
        mqtt: broker.mqttUrl,
        mqttWs: broker.wsUrl,
        ingest: ingest.url,
        api: api.url,
        emqxApi: emqx.apiUrl ?? "",
      },
      ...resources,
      jobsQueueUrl: jobsQueue.url,
      ingestTokens,
      deviceTokenSecrets,
      apiKeys,
      emqxApiKey,
      emqxApiSecret,
      broker,
      emqx,
      publisherStats: publisher.stats,
      ...(gaps ? { gaps } : {}),
      feedStats: feed.stats,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The publisher Lambda's handler and the commands DLQ consumer's, each fed by a long-poll loop as the SQS
 * event source mappings would.
 */
function startPublisher(
  deps: ReturnType<typeof createAwsDeps>,
  sqs: SQSClient,
  queues: { commandsQueueUrl: string; commandsDlqUrl: string },
  emqxApi: EmqxApiOptions,
  logger: Logger,
) {
  const client = new EmqxPublishClient(emqxApi);
  const stats: PublisherStats = { batches: 0, messages: 0, emqxCalls: 0 };
  const counting: DevicePublisher = {
    publishBulk: (requests) => {
      stats.emqxCalls++;
      return client.publishBulk(requests);
    },
  };
  // Half of the local queue's 10 receives, as in AWS (infra/lib/storage.ts).
  const publisherDeps = { ...deps, publisher: counting, recycle: { queue: deps.queue, afterReceives: 5 } };
  const publisherLogger = logger.createChild({ serviceName: "bridge-publisher" });
  const pollers = [
    startQueuePoller({
      sqs,
      queueUrl: queues.commandsQueueUrl,
      handler: (event) => {
        stats.batches++;
        stats.messages += event.Records.length;
        return handleCommandBatch(publisherDeps, event, publisherLogger);
      },
      onError: (error) => publisherLogger.error("command poller failed", { error }),
    }),
    startQueuePoller({
      sqs,
      queueUrl: queues.commandsDlqUrl,
      handler: (event) => handleDeadLetters(deps, event, publisherLogger),
      onError: (error) => publisherLogger.error("commands DLQ poller failed", { error }),
    }),
  ];
  return { stats, stop: () => Promise.all(pollers.map((p) => p.stop())).then(() => undefined) };
}

/** The webhook sender on the webhooks queue (the SNS topic's copy of the events) and its delivery queue. */
async function startLocalWebhookSender(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  resources: { tableName: string; webhooksQueueUrl: string },
  options: LocalStackOptions,
  logger: Logger,
) {
  const name = (resources.webhooksQueueUrl.split("/").pop() ?? "bridge-webhooks").replace(/\.fifo$/, "");
  const delivery = await ensureWebhookDeliveryQueue(clients.sqs, `${name}-deliveries`);
  return startWebhookSender({
    clients,
    tableName: resources.tableName,
    webhooksQueueUrl: resources.webhooksQueueUrl,
    deliveryQueueUrl: delivery.url,
    ...(options.webhookRetryDelaysS ? { retryDelaysS: options.webhookRetryDelaysS } : {}),
    logger: logger.createChild({ serviceName: "bridge-webhooks" }),
  });
}

/** The feed publisher Lambda's handler, fed by a long-poll loop on the feed queue as its event source would. */
function startFeed(sqs: SQSClient, feedQueueUrl: string, emqxApi: EmqxApiOptions, logger: Logger) {
  const client = new EmqxPublishClient(emqxApi);
  const stats: PublisherStats = { batches: 0, messages: 0, emqxCalls: 0 };
  const publisher: DevicePublisher = {
    publishBulk: (requests) => {
      stats.emqxCalls++;
      return client.publishBulk(requests);
    },
  };
  const feedLogger = logger.createChild({ serviceName: "bridge-feed" });
  const poller = startQueuePoller({
    sqs,
    queueUrl: feedQueueUrl,
    handler: (event) => {
      stats.batches++;
      stats.messages += event.Records.length;
      return handleFeedBatch({ publisher }, event, feedLogger);
    },
    // An EMQX outage: retried every few seconds at most, so the feed catches up soon after.
    maxBackoffSeconds: 5,
    onError: (error) => feedLogger.error("feed poller failed", { error }),
  });
  return { stats, stop: () => poller.stop() };
}

/** What the local publisher did, for benchmarks: SQS batches, messages in them, EMQX bulk calls. */
export interface PublisherStats {
  batches: number;
  messages: number;
  emqxCalls: number;
}

async function started<T extends { stop(): Promise<void> }>(
  stops: Array<() => Promise<void>>,
  service: Promise<T>,
) {
  const running = await service;
  stops.push(() => running.stop());
  return running;
}
