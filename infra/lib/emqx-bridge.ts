import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { type FunctionUrl, FunctionUrlAuthType, InvokeMode } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { CfnSubscription, ITopic } from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { liveAssetSources } from "../../functions/api/live/assets.ts";
import { WAIT_MARK_SETTLE_MS } from "../../functions/core/commands/requeue-on-connect.ts";
import { BridgeFunction, HANDLER_ENTRIES } from "./bridge-function.ts";
import { emqxApiUrlForPublisher } from "./emqx-api-url.ts";
import { GapTracker } from "./gaps.ts";
import { JobsWorker } from "./jobs.ts";
import { type AlarmThresholds, BridgeObservability } from "./observability.ts";
import { grantPublish, grantSend, grantTable, TABLE_ACTIONS } from "./permissions.ts";
import { BridgeSecrets } from "./secrets.ts";
import { BridgeStorage, COMMAND_DLQ_TIMEOUT, COMMANDS_RECYCLE_AFTER_RECEIVES } from "./storage.ts";
import { WebhookSender } from "./webhooks.ts";

/** The ingest answers within `INGEST_DEADLINE_MS` (8 s); Lambda's timeout must leave it room. */
export const INGEST_DEADLINE_MS = 8_000;
/** EMQX's `request_ttl` (emqx-rules/README.md): the longest EMQX waits for, and retries, one message. */
export const EMQX_REQUEST_TTL = Duration.minutes(10);

/** Lambda timeouts: each one above the handler's own budget, all far below EMQX's `request_ttl`. */
export const TIMEOUTS = {
  /** The ingest answers within min(8 s, remaining - 1 s); 15 s is margin, still under EMQX's old 30 s timeout. */
  ingest: Duration.seconds(15),
  /** SDK calls give up after ~8 s (3 attempts of 2.5 s) and the API answers 503. */
  api: Duration.seconds(15),
  /** One batch: an EMQX call is cut at EMQX_TIMEOUT_MS (5 s); a refused bulk is split a few times. */
  publisher: Duration.seconds(30),
  /** One feed batch: one EMQX call cut at 5 s, split into single calls only when EMQX refuses the bulk. */
  feed: Duration.seconds(30),
} as const;

/** Commands per publisher invocation: EMQX's bulk publish takes them in one call. */
export const PUBLISHER_BATCH_SIZE = 10;
/** Events per feed invocation (one EMQX bulk call): a FIFO event source takes at most 10. */
export const FEED_BATCH_SIZE = 10;

export interface EmqxBridgeProps {
  /**
   * EMQX's management API, e.g. `https://emqx.example.com:18084`, with or without `/api/v5` (may be a
   * CfnParameter token); the publisher gets it as `.../api/v5`.
   */
  emqxApiUrl: string;
  /**
   * Reserved concurrency of the ingest: a cap on its cost and load, and capacity no other function in the
   * account can take. Over it, the Function URL answers 429, which EMQX retries. Default: none (the
   * account's unreserved pool; new accounts may have too little to reserve from).
   */
  ingestReservedConcurrency?: number;
  /** The table's fate on `cdk destroy`: RETAIN (default; point-in-time recovery is on) or DESTROY. */
  tableRemovalPolicy?: RemovalPolicy;
  /** Function log retention; default one month. */
  logRetention?: RetentionDays;
  alarmThresholds?: AlarmThresholds;
  /** SNS topic for alarm notifications. */
  alarmTopic?: ITopic;
  /**
   * Any string: changing it changes every function's configuration, so each starts fresh and reads the
   * secrets again (the step after a rotation, docs/deploy.md#secrets).
   */
  secretsRevision?: string;
  /**
   * EMQX's MQTT-over-WebSocket listener as browsers reach it, e.g. `wss://emqx.example.com:8084/mqtt`: the
   * broker the live fleet page (`/v1/live`) connects to (`LIVE_BROKER_WS_URL`). Unset: the operator types it.
   */
  liveBrokerWsUrl?: string;
}

/**
 * The whole bridge in one construct: the table, the events queue and the commands FIFO queue with their
 * DLQs, the functions (ingest and API behind Function URLs, the publisher on the commands queue, the
 * DLQ consumer on its DLQ),
 * their secrets, least-privilege roles, alarms and a dashboard. Use it in your own CDK app as
 * `new EmqxBridge(stack, "Bridge", { emqxApiUrl })`.
 */
export class EmqxBridge extends Construct {
  readonly storage: BridgeStorage;
  readonly secrets: BridgeSecrets;
  readonly ingest: BridgeFunction;
  readonly api: BridgeFunction;
  readonly publisher: BridgeFunction;
  /** Marks each command whose queue message reached the commands DLQ `failed`. */
  readonly commandDlq: BridgeFunction;
  /** Jobs: the jobs queue and the worker that fans executions out and follows them. */
  readonly jobs: JobsWorker;
  /** The gap tracker (issue 14): a scheduled pass over the fleet and the heartbeat reports queue. */
  readonly gaps: GapTracker;
  /** The fleet feed: the feed queue's events → EMQX's bulk publish on `fleet/v1/{sn}/{type}`. */
  readonly feed: BridgeFunction;
  /** Signed webhooks: the webhooks queue's events → each subscriber's URL, retried, dead-lettered. */
  readonly webhooks: WebhookSender;
  readonly ingestUrl: FunctionUrl;
  readonly apiUrl: FunctionUrl;
  readonly observability: BridgeObservability;

  constructor(scope: Construct, id: string, props: EmqxBridgeProps) {
    super(scope, id);
    checkTimeouts();
    this.storage = new BridgeStorage(this, "Storage", {
      tableRemovalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
      publisherTimeout: TIMEOUTS.publisher,
      consumerTimeout: TIMEOUTS.feed,
    });
    this.secrets = new BridgeSecrets(this, "Secrets");
    const { table, eventsQueue, eventsTopic, commandsQueue, commandsSubscription } = this.storage;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const shared = {
      TABLE_NAME: table.tableName,
      EVENTS_QUEUE_URL: eventsQueue.queueUrl,
      // Events are published here; the events, feed and webhooks queues each get a raw copy.
      EVENTS_TOPIC_ARN: eventsTopic.topicArn,
      COMMANDS_QUEUE_URL: commandsQueue.queueUrl,
      // Set: the commands queue takes the `queued` announcements, so creating a command sends once. A Ref,
      // so CloudFormation makes the subscription before any function relies on it.
      COMMANDS_SUBSCRIPTION_ARN: (commandsSubscription.node.defaultChild as CfnSubscription).ref,
      ...(props.secretsRevision ? { SECRETS_REVISION: props.secretsRevision } : {}),
    };

    this.ingest = new BridgeFunction(this, "Ingest", {
      entry: HANDLER_ENTRIES.ingest,
      description: "emqx-serverless-bridge ingest: EMQX rule events and HTTP devices",
      memorySize: 512,
      timeout: TIMEOUTS.ingest,
      logRetention,
      environment: { ...shared, INGEST_DEADLINE_MS: String(INGEST_DEADLINE_MS) },
      ...(props.ingestReservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.ingestReservedConcurrency }
        : {}),
    });
    this.ingest.useSecret("INGEST_TOKENS_SECRET_ARN", this.secrets.ingestTokens);
    this.ingest.useSecret("DEVICE_TOKEN_SECRETS_SECRET_ARN", this.secrets.deviceTokenSecrets);
    grantTable(this.ingest, table, { actions: TABLE_ACTIONS.ingest, index: true });
    grantSend(this.ingest, commandsQueue);
    grantPublish(this.ingest, eventsTopic);

    this.api = new BridgeFunction(this, "Api", {
      entry: HANDLER_ENTRIES.api,
      description: "emqx-serverless-bridge API: commands, devices, attendance, quarantine",
      memorySize: 512,
      timeout: TIMEOUTS.api,
      logRetention,
      // EMQX's API: to kick a revoked or re-keyed device's live session (its own administrator key).
      environment: {
        ...shared,
        EMQX_API_URL: emqxApiUrlForPublisher(props.emqxApiUrl),
        ...(props.liveBrokerWsUrl ? { LIVE_BROKER_WS_URL: props.liveBrokerWsUrl } : {}),
      },
      // The live page's script and MQTT.js's browser build, served by the API from next to its bundle.
      bundledFiles: liveAssetSources(),
    });
    this.api.useSecret("API_KEYS_SECRET_ARN", this.secrets.apiKeys);
    // The ingest's secret: the API hands out a re-keyed device's token, which the ingest must accept.
    this.api.useSecret("DEVICE_TOKEN_SECRETS_SECRET_ARN", this.secrets.deviceTokenSecrets);
    this.api.useSecret("EMQX_API_CREDENTIALS_SECRET_ARN", this.secrets.emqxAdminApi);
    // The API over MQTT: EMQX's requests rule authenticates with the ingest's token (answers go out with the
    // administrator key above, which may publish).
    this.api.useSecret("INGEST_TOKENS_SECRET_ARN", this.secrets.ingestTokens);
    grantTable(this.api, table, { actions: TABLE_ACTIONS.api, index: true });
    grantSend(this.api, commandsQueue);
    grantPublish(this.api, eventsTopic);

    this.publisher = new BridgeFunction(this, "Publisher", {
      entry: HANDLER_ENTRIES.publisher,
      description: "emqx-serverless-bridge publisher: commands queue -> EMQX bulk publish",
      memorySize: 256,
      timeout: TIMEOUTS.publisher,
      logRetention,
      environment: {
        ...shared,
        EMQX_API_URL: emqxApiUrlForPublisher(props.emqxApiUrl),
        EMQX_TIMEOUT_MS: "5000",
        RECYCLE_AFTER_RECEIVES: String(COMMANDS_RECYCLE_AFTER_RECEIVES),
      },
    });
    this.publisher.useSecret("EMQX_API_CREDENTIALS_SECRET_ARN", this.secrets.emqxApi);
    grantTable(this.publisher, table, { actions: TABLE_ACTIONS.publisher, index: true });
    // Events, and the commands queue to put a message an EMQX outage held back on it again.
    grantSend(this.publisher, commandsQueue);
    grantPublish(this.publisher, eventsTopic);
    // Grants the role receive/delete/change-visibility on the commands queue only.
    this.publisher.function.addEventSource(
      new SqsEventSource(commandsQueue, {
        batchSize: PUBLISHER_BATCH_SIZE,
        reportBatchItemFailures: true,
      }),
    );

    this.commandDlq = new BridgeFunction(this, "CommandDlq", {
      entry: HANDLER_ENTRIES.commandDlq,
      description: "emqx-serverless-bridge commands DLQ: dead-lettered commands -> failed",
      memorySize: 256,
      timeout: COMMAND_DLQ_TIMEOUT,
      logRetention,
      environment: shared,
    });
    grantTable(this.commandDlq, table, { actions: TABLE_ACTIONS.commandDlq, index: false });
    grantPublish(this.commandDlq, eventsTopic);
    this.commandDlq.function.addEventSource(
      new SqsEventSource(this.storage.commandsDlq, { batchSize: 10, reportBatchItemFailures: true }),
    );

    this.jobs = new JobsWorker(this, "Jobs", {
      table,
      commandsQueue,
      environment: shared,
      logRetention,
      grantEvents: (fn) => grantPublish(fn, eventsTopic),
    });
    this.jobs.allowStart(this.api, table);

    this.gaps = new GapTracker(this, "Gaps", {
      table,
      commandsQueue,
      environment: shared,
      logRetention,
      grantEvents: (fn) => grantPublish(fn, eventsTopic),
    });
    this.gaps.acceptReports(this.ingest);
    // What creates commands without enqueueing them is updated after what reads the announcements the
    // subscription delivers: during a deploy no new command reaches a publisher that cannot read it.
    for (const producer of [this.ingest, this.api, this.jobs.function, this.gaps.function])
      producer.function.node.addDependency(this.publisher.function, this.commandDlq.function);

    this.feed = new BridgeFunction(this, "Feed", {
      entry: HANDLER_ENTRIES.feed,
      description: "emqx-serverless-bridge feed: events -> EMQX bulk publish on fleet/v1/{sn}/{type}",
      memorySize: 256,
      timeout: TIMEOUTS.feed,
      logRetention,
      environment: {
        ...shared,
        EMQX_API_URL: emqxApiUrlForPublisher(props.emqxApiUrl),
        EMQX_TIMEOUT_MS: "5000",
      },
    });
    // The publisher's EMQX key: the feed publishes through the same API, nothing more.
    this.feed.useSecret("EMQX_API_CREDENTIALS_SECRET_ARN", this.secrets.emqxApi);
    // Receive/delete/change-visibility on the feed queue only; no table, no queue to send to.
    this.feed.function.addEventSource(
      new SqsEventSource(this.storage.feedQueue, {
        batchSize: FEED_BATCH_SIZE,
        reportBatchItemFailures: true,
      }),
    );

    this.webhooks = new WebhookSender(this, "Webhooks", {
      table,
      webhooksQueue: this.storage.webhooksQueue,
      logRetention,
      ...(props.secretsRevision ? { environment: { SECRETS_REVISION: props.secretsRevision } } : {}),
    });

    // Auth NONE at the URL: the apps check bearer tokens themselves (constant time, several valid at once
    // for rotation). A Lambda throttle reaches the caller as 429; docs/deploy.md#the-ingest-front-door.
    this.ingestUrl = this.ingest.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.BUFFERED,
    });
    this.apiUrl = this.api.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.BUFFERED,
    });

    this.observability = new BridgeObservability(this, "Observability", {
      functions: { ingest: this.ingest.function, api: this.api.function, publisher: this.publisher.function },
      eventsTopic,
      queues: {
        events: eventsQueue,
        eventsDlq: this.storage.eventsDlq,
        commands: commandsQueue,
        commandsDlq: this.storage.commandsDlq,
      },
      deadLetterQueues: {
        CommandsSubscriptionDlq: {
          queue: this.storage.commandsSubscriptionDlq,
          description:
            "New commands SNS could not put on the commands queue (they stay queued): redrive this DLQ into the commands queue.",
        },
        FeedDlq: {
          queue: this.storage.feedDlq,
          description: "Events the feed could not publish to EMQX (bridge-feed): inspect, fix EMQX, redrive.",
        },
        WebhooksDlq: {
          queue: this.storage.webhooksDlq,
          description: "Events the webhook sender could not take (bridge-webhooks): inspect, redrive.",
        },
        WebhookDeliveryDlq: {
          queue: this.webhooks.deliveryDlq,
          description:
            "Webhook retries the sender kept failing on (the table unavailable): inspect, redrive.",
        },
        GapReportsDlq: {
          queue: this.gaps.reportsDlq,
          description: "Heartbeat reports tracker passes kept failing on: the gap tracker is failing.",
        },
      },
      gapTracker: this.gaps,
      ...(props.alarmThresholds ? { thresholds: props.alarmThresholds } : {}),
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
    });
  }
}

function checkTimeouts(): void {
  const ingest = TIMEOUTS.ingest.toMilliseconds();
  // The handler keeps 1 s back for its answer and Lambda needs a moment to return it.
  if (ingest < INGEST_DEADLINE_MS + 2_000) {
    throw new Error(`the ingest timeout (${ingest} ms) must exceed INGEST_DEADLINE_MS + 2 s`);
  }
  if (ingest * 4 > EMQX_REQUEST_TTL.toMilliseconds()) {
    throw new Error("the ingest timeout must stay well under EMQX's request_ttl");
  }
  // A listing this long after a "commands may wait" mark must see every command the publisher marked
  // under it: the publisher writes them within its timeout, and the index needs a moment more.
  if (TIMEOUTS.publisher.toMilliseconds() * 2 > WAIT_MARK_SETTLE_MS) {
    throw new Error("WAIT_MARK_SETTLE_MS must exceed twice the publisher's timeout");
  }
}
