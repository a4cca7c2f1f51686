import { randomBytes } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { createApiDeps, createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import { createDynamoDbClient } from "../../functions/adapters/dynamodb/client.ts";
import { EmqxPublishClient } from "../../functions/adapters/emqx/publish-client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { createApiApp } from "../../functions/api/app.ts";
import { handleDeadLetters } from "../../functions/command-dlq/batch.ts";
import { createIngestApp } from "../../functions/ingest/app.ts";
import { handleCommandBatch } from "../../functions/publisher/batch.ts";
import { startEmqxStandIn } from "../../local/emqx/index.ts";
import { provision } from "../../local/provision.ts";
import { startBroker } from "../../local/services/broker.ts";
import { serveApp } from "../../local/services/http-server.ts";
import { startQueuePoller } from "../../local/services/queue-poller.ts";
import { RULES_DIR } from "../../local/stack.ts";
import { startFaultProxy } from "./fault-proxy.ts";
import { uniqueName } from "./resources.ts";
import { startThrottleProxy } from "./soak-throttle-proxy.ts";

export interface SoakStackOptions {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  /** Cap of the commands queue's redelivery backoff: 10 receives then last about 10 × this (compressed time). */
  maxBackoffSeconds: number;
  /** EMQX's request_ttl: how long the stand-in keeps retrying one rule output before dropping it. */
  requestTtlMs: number;
}

/**
 * The local stack's pieces as local/stack.ts wires them, with a place to cut each wire: DynamoDB (TCP
 * proxy, then a throttling HTTP proxy), SQS, the ingest as EMQX reaches it, and EMQX's management API as
 * the publisher reaches it. The publisher is wired as its Lambda handler (recycling held-back messages),
 * and the commands DLQ has its consumer, as in AWS. The suite's own readers go to the stand-ins directly.
 */
export async function startSoakStack(options: SoakStackOptions) {
  const stops: Array<() => Promise<void>> = [];
  const keep = <T extends { stop(): Promise<void> }>(service: T) => {
    stops.push(() => service.stop());
    return service;
  };
  const direct = directClients(options);
  stops.push(async () => direct.destroy());
  const resources = await provision(direct, {
    tableName: uniqueName("soak"),
    eventsQueue: uniqueName("soak-events"),
    commandsQueue: uniqueName("soak-commands"),
  });
  const throttle = keep(await startThrottleProxy(options.dynamodbEndpoint));
  const dynamodb = keep(await startFaultProxy(throttle.url));
  const sqs = keep(await startFaultProxy(options.sqsEndpoint));
  const config = {
    TABLE_NAME: resources.tableName,
    EVENTS_QUEUE_URL: resources.eventsQueueUrl,
    COMMANDS_QUEUE_URL: resources.commandsQueueUrl,
    AWS_REGION: "us-east-1",
    DYNAMODB_ENDPOINT: dynamodb.url,
    SQS_ENDPOINT: sqs.url,
  };
  const logger = new Logger({ serviceName: "soak", logLevel: "SILENT" });
  const secrets = {
    ingest: randomBytes(24).toString("base64url"),
    api: randomBytes(24).toString("base64url"),
    emqxKey: "soak",
    emqxSecret: randomBytes(24).toString("base64url"),
  };
  const deps = createAwsDeps(config);
  const ingestApp = createIngestApp(deps, {
    tokens: [secrets.ingest],
    deviceTokenSecrets: [],
    deadlineMs: 8_000,
    maxBodyBytes: 256 * 1024,
    logger,
  });
  const ingest = keep(await serveApp(ingestApp.fetch));
  const ingestProxy = keep(await startFaultProxy(ingest.url));
  const api = keep(
    await serveApp(createApiApp(createApiDeps({ ...config, API_KEYS: [secrets.api] }), { logger }).fetch),
  );
  const broker = keep(await startBroker());
  const emqx = keep(
    await startEmqxStandIn({
      broker: broker.broker,
      rulesDir: RULES_DIR,
      ingestUrl: ingestProxy.url,
      ingestToken: secrets.ingest,
      api: { port: 0, key: secrets.emqxKey, secret: secrets.emqxSecret },
      timing: { requestTtlMs: options.requestTtlMs, resumeIntervalMs: 500 },
      log: () => undefined,
    }),
  );
  const emqxApi = keep(await startFaultProxy(new URL(emqx.apiUrl ?? "").origin));
  const publisher = new EmqxPublishClient({
    baseUrl: `${emqxApi.url}/api/v5`,
    apiKey: secrets.emqxKey,
    apiSecret: secrets.emqxSecret,
    timeoutMs: 2_000,
  });
  const publishDeps = { ...deps, publisher, recycle: { queue: deps.queue, afterReceives: 5 } };
  const bridgeSqs = createSqsClient({ region: "us-east-1", endpoint: sqs.url });
  stops.push(async () => bridgeSqs.destroy());
  keep(
    poll(bridgeSqs, resources.commandsQueueUrl, options.maxBackoffSeconds, (event) =>
      handleCommandBatch(publishDeps, event, logger),
    ),
  );
  keep(
    poll(bridgeSqs, resources.commandsDlqUrl, options.maxBackoffSeconds, (event) =>
      handleDeadLetters(deps, event, logger),
    ),
  );
  return {
    ...resources,
    direct,
    mqttUrl: broker.mqttUrl,
    apiUrl: api.url,
    apiKey: secrets.api,
    emqx,
    wires: { dynamodb, throttle, sqs, ingest: ingestProxy, emqxApi },
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}

export type SoakStack = Awaited<ReturnType<typeof startSoakStack>>;

function poll(
  sqs: SQSClient,
  queueUrl: string,
  maxBackoffSeconds: number,
  handler: Parameters<typeof startQueuePoller>[0]["handler"],
) {
  return startQueuePoller({ sqs, queueUrl, handler, maxBackoffSeconds, onError: () => undefined });
}

function directClients(options: SoakStackOptions) {
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  const aws = { region: "us-east-1", requestTimeoutMs: 10_000 };
  const dynamodb = createDynamoDbClient({ ...aws, endpoint: options.dynamodbEndpoint });
  const sqs = createSqsClient({ ...aws, endpoint: options.sqsEndpoint });
  return {
    dynamodb,
    sqs,
    destroy() {
      dynamodb.destroy();
      sqs.destroy();
    },
  };
}
