import { randomBytes } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { type AwsClients, createApiDeps, createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import type { ApiConfig, IngestConfig } from "../../functions/adapters/config.ts";
import { countingCommandStore } from "../../functions/adapters/counting-command-store.ts";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { createSnsClient } from "../../functions/adapters/sns/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { createApiApp } from "../../functions/api/app.ts";
import { METRICS_SERVICE } from "../../functions/core/metrics.ts";
import { createIngestApp } from "../../functions/ingest/app.ts";
import { provision } from "../../local/provision.ts";
import { AwsRequestCounter } from "./aws-counter.ts";
import { MeasuredEmfMetrics } from "./measured-metrics.ts";

export const INGEST_TOKEN = `bench-ingest-${randomBytes(12).toString("hex")}`;
export const API_KEY = `bench-api-${randomBytes(12).toString("hex")}`;

/** Quiet at INFO, as on Lambda: a handled request writes no line (one per request is DEBUG). */
export const benchLogger = () => new Logger({ serviceName: "bench", logLevel: "INFO" });

/**
 * A table and queues of its own on the running DynamoDB Local and SQS stand-in (nobody else polls them),
 * the ingest and API apps wired exactly as their Lambda handlers wire them, on SDK clients whose
 * requests are counted.
 */
export async function createFixture(endpoints: { dynamodb: string; sqs: string }) {
  const aws = { region: "us-east-1", credentials: LOCAL_CREDENTIALS, requestTimeoutMs: 10_000 };
  const clients: AwsClients = {
    dynamodb: createDynamoDbClient({ ...aws, endpoint: endpoints.dynamodb }),
    sqs: createSqsClient({ ...aws, endpoint: endpoints.sqs }),
    sns: createSnsClient({ ...aws, endpoint: endpoints.sqs }),
  };
  const id = randomBytes(3).toString("hex");
  const resources = await provision(clients, {
    tableName: `bench-${id}`,
    eventsQueue: `bench-events-${id}`,
    commandsQueue: `bench-commands-${id}`,
  });
  const counter = new AwsRequestCounter({
    [resources.eventsQueueUrl]: "events",
    [resources.commandsQueueUrl]: "commands",
    [resources.eventsTopicArn]: "events",
  });
  counter.attach(clients.dynamodb, "DynamoDB");
  counter.attach(clients.sqs, "SQS");
  if (clients.sns) counter.attach(clients.sns, "SNS");
  const base = {
    TABLE_NAME: resources.tableName,
    EVENTS_QUEUE_URL: resources.eventsQueueUrl,
    COMMANDS_QUEUE_URL: resources.commandsQueueUrl,
    AWS_REGION: "us-east-1",
    DYNAMODB_ENDPOINT: endpoints.dynamodb,
    SQS_ENDPOINT: endpoints.sqs,
  };
  const ingestConfig: IngestConfig = {
    ...base,
    INGEST_TOKENS: [INGEST_TOKEN],
    INGEST_DEADLINE_MS: 8_000,
    MAX_BODY_BYTES: 256 * 1024,
    QUARANTINE_RETENTION_DAYS: 30,
    DEVICE_TOKEN_SECRETS: [],
    DEVICE_REGISTRATION: "open",
    BROKER_SESSION_LIFETIME_S: 86_400,
  };
  const apiConfig: ApiConfig = { ...base, API_KEYS: [API_KEY] };
  const deps = createAwsDeps(ingestConfig, clients);
  // Real EMF metrics, as on Lambda, counted instead of printed (what CloudWatch Logs would ingest).
  const metrics = {
    ingest: new MeasuredEmfMetrics(METRICS_SERVICE.ingest),
    api: new MeasuredEmfMetrics(METRICS_SERVICE.api),
    publisher: new MeasuredEmfMetrics(METRICS_SERVICE.publisher),
  };
  const ingest = createIngestApp(deps, {
    tokens: ingestConfig.INGEST_TOKENS,
    deadlineMs: ingestConfig.INGEST_DEADLINE_MS,
    maxBodyBytes: ingestConfig.MAX_BODY_BYTES,
    deviceTokenSecrets: [],
    logger: benchLogger(),
    metrics: metrics.ingest,
  });
  const api = createApiApp(createApiDeps(apiConfig, clients), { logger: benchLogger() });
  // As deployed: events through the SNS FIFO topic, whose `queued` announcements feed the commands queue.
  const deployedApiConfig = {
    ...apiConfig,
    EVENTS_TOPIC_ARN: resources.eventsTopicArn,
    COMMANDS_SUBSCRIPTION_ARN: resources.commandsSubscriptionArn,
    SNS_ENDPOINT: endpoints.sqs,
  };
  const deployedDeps = createApiDeps(deployedApiConfig, clients);
  // As the API's handler wires it: command statuses counted; its Lambda entry flushes once a request.
  const deployedApi = createApiApp(
    { ...deployedDeps, commands: countingCommandStore(deployedDeps.commands, metrics.api) },
    { logger: benchLogger() },
  );
  return {
    clients,
    resources,
    counter,
    metrics,
    deps,
    ingest,
    api,
    deployedApi,
    id,
    destroy() {
      clients.dynamodb.destroy();
      clients.sqs.destroy();
      clients.sns?.destroy();
    },
  };
}

export type Fixture = Awaited<ReturnType<typeof createFixture>>;

/** A rule event as EMQX's HTTP action posts it (docs/emqx.md), for the ingest's `fetch`. */
export function ruleEventRequest(event: Record<string, unknown>): Request {
  return new Request("http://ingest.local/emqx/rule-events", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${INGEST_TOKEN}` },
    body: JSON.stringify(event),
  });
}

export function publishEvent(sn: string, channel: "evt" | "st", payload: unknown, id = emqxId()) {
  const now = Date.now();
  return {
    id,
    clientid: sn,
    username: "undefined",
    event: "message.publish",
    topic: `api/mqtt/v1/${sn}/${channel}`,
    qos: 1,
    publish_received_at: now,
    metadata: { rule_id: channel === "evt" ? "bridge_attendance" : "bridge_status" },
    payload: JSON.stringify(payload),
    peerhost: "198.51.100.7",
    node: "emqx@10.0.0.5",
    timestamp: now + 1,
  };
}

export function connectedEvent(sn: string, connectedAt = Date.now()) {
  return {
    clientid: sn,
    username: "undefined",
    peername: "198.51.100.7:51544",
    proto_name: "MQTT",
    proto_ver: 5,
    keepalive: 60,
    clean_start: true,
    connected_at: connectedAt,
    event: "client.connected",
    timestamp: connectedAt + 1,
    node: "emqx@10.0.0.5",
    metadata: { rule_id: "bridge_lifecycle" },
  };
}

export function disconnectedEvent(sn: string, connectedAt: number, disconnectedAt = Date.now()) {
  return {
    clientid: sn,
    reason: "normal",
    connected_at: connectedAt,
    disconnected_at: disconnectedAt,
    event: "client.disconnected",
    timestamp: disconnectedAt + 1,
    node: "emqx@10.0.0.5",
    metadata: { rule_id: "bridge_lifecycle" },
  };
}

/** A punch as a terminal sends it; `n` makes it unique within the device. */
export function punch(n: number) {
  const at = new Date(Date.UTC(2026, 10, 22, 0, 0, 0) + n * 1_000).toISOString().replace("Z", "+00:00");
  return { user_id: String(1000 + (n % 500)), att_time: at, att_state: n % 2 };
}

export const emqxId = () => randomBytes(16).toString("hex").toUpperCase();

/** Sends one request to an app's `fetch` and fails loudly on anything but the expected status. */
export async function call(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  request: Request,
  expected = 200,
): Promise<Record<string, unknown>> {
  const response = await app.fetch(request);
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== expected)
    throw new Error(`expected ${expected}, got ${response.status}: ${JSON.stringify(body)}`);
  return body;
}
