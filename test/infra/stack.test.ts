/**
 * The synthesized CloudFormation template (bundling skipped, so this file stays fast): the table and
 * queues with their settings, the functions and front doors, each function's IAM statements, alarms,
 * outputs, and cdk-nag's AwsSolutions pack with every acknowledgement justified and still needed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CfnElement, Stack } from "aws-cdk-lib";
import { Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableDefinition } from "../../functions/adapters/dynamodb/table.ts";
import { METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from "../../functions/core/metrics.ts";
import { createApp } from "../../infra/lib/app.ts";
import { BridgeFunction } from "../../infra/lib/bridge-function.ts";
import { emqxApiUrlForPublisher } from "../../infra/lib/emqx-api-url.ts";
import {
  EMQX_REQUEST_TTL,
  FEED_BATCH_SIZE,
  INGEST_DEADLINE_MS,
  PUBLISHER_BATCH_SIZE,
  TIMEOUTS,
} from "../../infra/lib/emqx-bridge.ts";
import type { EmqxBridgeStack } from "../../infra/lib/stack.ts";

type Json = Record<string, unknown>;
type Statement = { Effect: string; Action: string[]; Resource: unknown[]; Condition?: unknown };

const outdirs: string[] = [];
/** An app as `cdk synth` builds it (cdk-nag included), without bundling the handlers. */
function synth(context: Record<string, unknown> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), "bridge-cdk-"));
  outdirs.push(outdir);
  const { app, stack } = createApp({ outdir, context: { "aws:cdk:bundling-stacks": [], ...context } });
  app.synth(); // throws on any unacknowledged cdk-nag finding
  return { app, stack, template: Template.fromStack(stack) };
}

let app: ReturnType<typeof createApp>["app"];
let stack: EmqxBridgeStack;
let template: Template;
let resources: Record<string, Json & { Type: string; Properties: Json }>;

beforeAll(() => {
  ({ app, stack, template } = synth());
  resources = template.toJSON().Resources as typeof resources;
});

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

const idOf = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const mentions = (value: unknown, logicalId: string) => JSON.stringify(value).includes(`"${logicalId}"`);
const asArray = (value: unknown) => (Array.isArray(value) ? value : [value]);

/** Every statement of every policy attached to the function's role. */
function statementsOf(fn: "ingest" | "api" | "publisher" | "commandDlq" | "feed"): Statement[] {
  const roleId = idOf(stack.bridge[fn].role);
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy" && mentions(r.Properties.Roles, roleId))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Json[] }).Statement)
    .map((s) => ({ ...s, Action: asArray(s.Action), Resource: asArray(s.Resource) }) as Statement);
}
/** The actions a role may take on one resource (by logical id). */
function actionsOn(
  fn: "ingest" | "api" | "publisher" | "commandDlq" | "feed",
  logicalId: string,
  suffix?: string,
): string[] {
  return statementsOf(fn)
    .filter((s) =>
      s.Resource.some((r) => mentions(r, logicalId) && (suffix ? JSON.stringify(r).includes(suffix) : true)),
    )
    .flatMap((s) => s.Action)
    .sort();
}

describe("storage", () => {
  it("has one on-demand table with PITR, TTL, the GSI and KMS encryption, retained on delete", () => {
    const local = tableDefinition("bridge");
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({
        BillingMode: "PAY_PER_REQUEST",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: "ttlEpochSeconds", Enabled: true },
        // SSEEnabled without a key: the account's AWS managed KMS key (aws/dynamodb), not the AWS owned one.
        SSESpecification: { SSEEnabled: true },
        // The same keys and index DynamoDB Local gets from functions/adapters/dynamodb/table.ts.
        KeySchema: local.KeySchema,
        AttributeDefinitions: Match.arrayWith(local.AttributeDefinitions ?? []),
        GlobalSecondaryIndexes: [
          Match.objectLike({
            IndexName: "gsi1",
            KeySchema: local.GlobalSecondaryIndexes?.[0]?.KeySchema,
            Projection: { ProjectionType: "ALL" },
          }),
          Match.objectLike({
            IndexName: "byJob",
            KeySchema: local.GlobalSecondaryIndexes?.[1]?.KeySchema,
            Projection: { ProjectionType: "ALL" },
          }),
        ],
      }),
    });
    template.resourceCountIs("AWS::DynamoDB::Table", 1);
  });

  it("tears the table down only when asked to (-c tableRemovalPolicy=destroy)", () => {
    const { template: throwaway } = synth({ tableRemovalPolicy: "destroy" });
    throwaway.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Delete" });
  });

  it("has the events FIFO queue, deduplicated per device, with a DLQ after 5 receives", () => {
    const { eventsQueue, eventsDlq } = stack.bridge.storage;
    expect(resources[idOf(eventsQueue)]?.Properties).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [idOf(eventsDlq), "Arn"] }, maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
    });
    expect(resources[idOf(eventsDlq)]?.Properties).toMatchObject({
      FifoQueue: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it("has the commands FIFO queue, deduplicated per device, visible again after 6x the publisher timeout", () => {
    const { commandsQueue, commandsDlq } = stack.bridge.storage;
    expect(resources[idOf(commandsQueue)]?.Properties).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
      VisibilityTimeout: 6 * TIMEOUTS.publisher.toSeconds(),
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [idOf(commandsDlq), "Arn"] },
        maxReceiveCount: 10,
      },
      SqsManagedSseEnabled: true,
    });
    expect(resources[idOf(commandsDlq)]?.Properties.FifoQueue).toBe(true);
  });

  it("refuses plain HTTP on every queue", () => {
    const queues = Object.keys(template.findResources("AWS::SQS::Queue"));
    expect(queues.length).toBeGreaterThanOrEqual(8);
    const policies = template.findResources("AWS::SQS::QueuePolicy");
    const denied = Object.values(policies).filter((p) =>
      JSON.stringify(p).includes('"aws:SecureTransport":"false"'),
    );
    expect(denied).toHaveLength(queues.length);
  });

  it("publishes events to an SNS FIFO topic the events, feed and webhooks queues subscribe to raw", () => {
    const { eventsTopic, eventsQueue, feedQueue, feedDlq, webhooksQueue } = stack.bridge.storage;
    expect(resources[idOf(eventsTopic)]?.Properties).toMatchObject({
      FifoTopic: true,
      ContentBasedDeduplication: false,
      FifoThroughputScope: "MessageGroup",
    });
    // Encrypted with the account's AWS managed key for SNS.
    expect(JSON.stringify(resources[idOf(eventsTopic)]?.Properties.KmsMasterKeyId)).toContain(
      "alias/aws/sns",
    );
    for (const queue of [eventsQueue, feedQueue, webhooksQueue]) {
      template.hasResourceProperties("AWS::SNS::Subscription", {
        Protocol: "sqs",
        RawMessageDelivery: true,
        TopicArn: { Ref: idOf(eventsTopic) },
        Endpoint: { "Fn::GetAtt": [idOf(queue), "Arn"] },
      });
      expect(resources[idOf(queue)]?.Properties).toMatchObject({
        FifoQueue: true,
        DeduplicationScope: "messageGroup",
        FifoThroughputLimit: "perMessageGroupId",
      });
    }
    expect(JSON.stringify(resources[idOf(feedQueue)]?.Properties.RedrivePolicy)).toContain(idOf(feedDlq));
    // The commands queue takes only the commands' `queued` announcements: they are its pointers.
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "sqs",
      RawMessageDelivery: true,
      TopicArn: { Ref: idOf(eventsTopic) },
      Endpoint: { "Fn::GetAtt": [idOf(stack.bridge.storage.commandsQueue), "Arn"] },
      FilterPolicyScope: "MessageBody",
      FilterPolicy: { type: ["command_status"], data: { status: ["queued"] } },
      RedrivePolicy: {
        deadLetterTargetArn: {
          "Fn::GetAtt": [idOf(stack.bridge.storage.commandsSubscriptionDlq), "Arn"],
        },
      },
    });
    // Functions rely on it (one send per new command) only once it exists, and after the publisher
    // and the commands DLQ consumer, which read what it delivers, are updated.
    const subscription = stack.getLogicalId(
      stack.bridge.storage.commandsSubscription.node.defaultChild as CfnElement,
    );
    for (const fn of [stack.bridge.api, stack.bridge.ingest]) {
      const props = resources[idOf(fn.function)];
      const environment = props?.Properties.Environment as { Variables: Record<string, unknown> };
      expect(environment.Variables.COMMANDS_SUBSCRIPTION_ARN).toEqual({ Ref: subscription });
      expect(props?.DependsOn).toEqual(
        expect.arrayContaining([
          idOf(stack.bridge.publisher.function),
          idOf(stack.bridge.commandDlq.function),
        ]),
      );
    }
    expect(JSON.stringify(template.findResources("AWS::SNS::TopicPolicy"))).toContain(
      '"aws:SecureTransport":"false"',
    );
  });
});

describe("functions and front doors", () => {
  it("runs every bridge function on Node 24 arm64 with its own log group, JSON logs, system logs at WARN", () => {
    const functions = template.findResources("AWS::Lambda::Function");
    // Each a BridgeFunction (their number grows with the features; none is made another way).
    const bridgeFunctions = stack.node.findAll().filter((c) => c instanceof BridgeFunction);
    expect(bridgeFunctions.length).toBeGreaterThanOrEqual(6);
    expect(Object.keys(functions)).toHaveLength(bridgeFunctions.length);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        LoggingConfig: {
          LogGroup: { Ref: expect.any(String) },
          LogFormat: "JSON",
          ApplicationLogLevel: "INFO",
          SystemLogLevel: "WARN",
        },
      });
      // Source maps are read at the first printed error (lazy-source-maps.ts), not at every cold start.
      expect(JSON.stringify(fn.Properties.Environment ?? {})).not.toContain("enable-source-maps");
      // The bundles read credentials from the environment only, which SnapStart does not fill (env-credentials.ts).
      expect(fn.Properties.SnapStart).toBeUndefined();
    }
  });

  it("takes the functions' application log level from the context", () => {
    const debug = synth({ logLevel: "debug" });
    for (const fn of Object.values(debug.template.findResources("AWS::Lambda::Function")))
      expect(fn.Properties.LoggingConfig).toMatchObject({
        ApplicationLogLevel: "DEBUG",
        SystemLogLevel: "WARN",
      });
    expect(() => synth({ logLevel: "LOUD" })).toThrow(/logLevel must be one of/);
  });

  it("aligns timeouts: ingest above its own deadline, all far below EMQX's request_ttl", () => {
    const timeout = (fn: "ingest" | "api" | "publisher") =>
      resources[idOf(stack.bridge[fn].function)]?.Properties.Timeout as number;
    expect(timeout("ingest") * 1000).toBeGreaterThanOrEqual(INGEST_DEADLINE_MS + 2_000);
    expect(timeout("ingest") * 1000).toBeLessThan(EMQX_REQUEST_TTL.toMilliseconds() / 4);
    expect(resources[idOf(stack.bridge.ingest.function)]?.Properties.Environment).toMatchObject({
      Variables: { INGEST_DEADLINE_MS: String(INGEST_DEADLINE_MS) },
    });
    expect(timeout("publisher")).toBe(TIMEOUTS.publisher.toSeconds());
  });

  it("feeds the publisher from the commands queue in batches of 10 with partial failures", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: PUBLISHER_BATCH_SIZE,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      EventSourceArn: { "Fn::GetAtt": [idOf(stack.bridge.storage.commandsQueue), "Arn"] },
      FunctionName: { Ref: idOf(stack.bridge.publisher.function) },
    });
    expect(resources[idOf(stack.bridge.publisher.function)]?.Properties.Environment).toMatchObject({
      Variables: { RECYCLE_AFTER_RECEIVES: "5" },
    });
  });

  it("feeds the DLQ consumer from the commands DLQ, visible again after 6x its timeout", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      EventSourceArn: { "Fn::GetAtt": [idOf(stack.bridge.storage.commandsDlq), "Arn"] },
      FunctionName: { Ref: idOf(stack.bridge.commandDlq.function) },
    });
    // Publisher, commands DLQ consumer, feed, webhook sender (its two queues), jobs worker.
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 6);
    const timeout = resources[idOf(stack.bridge.commandDlq.function)]?.Properties.Timeout as number;
    expect(resources[idOf(stack.bridge.storage.commandsDlq)]?.Properties.VisibilityTimeout).toBe(6 * timeout);
  });

  it("feeds the feed publisher from the feed queue in batches of 10 with partial failures", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: FEED_BATCH_SIZE,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      EventSourceArn: { "Fn::GetAtt": [idOf(stack.bridge.storage.feedQueue), "Arn"] },
      FunctionName: { Ref: idOf(stack.bridge.feed.function) },
    });
    const timeout = resources[idOf(stack.bridge.feed.function)]?.Properties.Timeout as number;
    expect(resources[idOf(stack.bridge.storage.feedQueue)]?.Properties.VisibilityTimeout).toBe(6 * timeout);
  });

  it("puts the ingest and the API behind Function URLs that check tokens in code", () => {
    for (const fn of ["ingest", "api"] as const) {
      template.hasResourceProperties("AWS::Lambda::Url", {
        AuthType: "NONE",
        InvokeMode: "BUFFERED",
        TargetFunctionArn: { "Fn::GetAtt": [idOf(stack.bridge[fn].function), "Arn"] },
      });
    }
    template.resourceCountIs("AWS::Lambda::Url", 2);
    template.resourceCountIs("AWS::ApiGatewayV2::Api", 0);
  });

  it("can reserve concurrency for the ingest (-c ingestReservedConcurrency=50)", () => {
    expect(
      resources[idOf(stack.bridge.ingest.function)]?.Properties.ReservedConcurrentExecutions,
    ).toBeUndefined();
    const { stack: reserved, template: withReserve } = synth({ ingestReservedConcurrency: "50" });
    const fn = withReserve.toJSON().Resources[
      reserved.getLogicalId(reserved.bridge.ingest.function.node.defaultChild as CfnElement)
    ] as { Properties: Json };
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(50);
  });
});

describe("secrets", () => {
  it("generates every credential at deploy time and passes only ARNs to the functions", () => {
    template.resourceCountIs("AWS::SecretsManager::Secret", 5);
    for (const secret of Object.values(template.findResources("AWS::SecretsManager::Secret"))) {
      expect(secret.Properties.GenerateSecretString).toBeDefined();
      expect(secret.Properties.SecretString).toBeUndefined();
    }
    const env = (fn: "ingest" | "api" | "publisher") =>
      (resources[idOf(stack.bridge[fn].function)]?.Properties.Environment as { Variables: Json } | undefined)
        ?.Variables;
    const { secrets } = stack.bridge;
    expect(env("ingest")).toMatchObject({
      INGEST_TOKENS_SECRET_ARN: { Ref: idOf(secrets.ingestTokens) },
      DEVICE_TOKEN_SECRETS_SECRET_ARN: { Ref: idOf(secrets.deviceTokenSecrets) },
    });
    expect(env("api")).toMatchObject({
      API_KEYS_SECRET_ARN: { Ref: idOf(secrets.apiKeys) },
      DEVICE_TOKEN_SECRETS_SECRET_ARN: { Ref: idOf(secrets.deviceTokenSecrets) },
      EMQX_API_CREDENTIALS_SECRET_ARN: { Ref: idOf(secrets.emqxAdminApi) },
    });
    expect(env("publisher")).toMatchObject({
      EMQX_API_CREDENTIALS_SECRET_ARN: { Ref: idOf(secrets.emqxApi) },
    });
    for (const fn of ["ingest", "api", "publisher"] as const) {
      for (const name of [
        "INGEST_TOKENS",
        "API_KEYS",
        "EMQX_API_KEY",
        "EMQX_API_SECRET",
        "DEVICE_TOKEN_SECRETS",
      ]) {
        expect(env(fn)?.[name]).toBeUndefined();
      }
    }
  });

  it("lets each function read its own secrets only", () => {
    const { secrets } = stack.bridge;
    const readable = (fn: "ingest" | "api" | "publisher") =>
      [
        secrets.ingestTokens,
        secrets.deviceTokenSecrets,
        secrets.apiKeys,
        secrets.emqxApi,
        secrets.emqxAdminApi,
      ]
        .filter((secret) => actionsOn(fn, idOf(secret)).includes("secretsmanager:GetSecretValue"))
        .map((secret) => secret.node.id);
    expect(readable("ingest")).toEqual(["IngestTokens", "DeviceTokenSecrets"]);
    // The ingest token: EMQX's requests rule (the API over MQTT) authenticates with it.
    expect(readable("api")).toEqual(["IngestTokens", "DeviceTokenSecrets", "ApiKeys", "EmqxAdminApi"]);
    expect(readable("publisher")).toEqual(["EmqxApi"]);
  });
});

describe("least privilege per function", () => {
  const table = () => idOf(stack.bridge.storage.table);
  const queue = (name: "eventsQueue" | "commandsQueue" | "commandsDlq" | "feedQueue") =>
    idOf(stack.bridge.storage[name]);
  const topic = () => idOf(stack.bridge.storage.eventsTopic);

  it("gives every role only its own statements: no managed policy, no wildcard action or resource", () => {
    for (const role of Object.values(template.findResources("AWS::IAM::Role"))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    for (const fn of ["ingest", "api", "publisher", "commandDlq", "feed"] as const) {
      for (const statement of statementsOf(fn)) {
        expect(statement.Effect).toBe("Allow");
        for (const action of statement.Action) expect(action).not.toContain("*");
        for (const resource of statement.Resource) expect(JSON.stringify(resource)).not.toMatch(/"\*"|\/\*"/);
      }
    }
  });

  it("ingest: reads and writes the table, sends to both queues, cannot receive commands", () => {
    expect(actionsOn("ingest", table())).toEqual(
      [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
      ].sort(),
    );
    expect(actionsOn("ingest", table(), "/index/gsi1")).toEqual(["dynamodb:Query"]);
    expect(actionsOn("ingest", queue("eventsQueue"))).toEqual([]);
    expect(actionsOn("ingest", topic())).toEqual(["sns:Publish"]);
    expect(actionsOn("ingest", queue("commandsQueue"))).toEqual(["sqs:SendMessage"]);
    const all = statementsOf("ingest").flatMap((s) => s.Action);
    for (const action of ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"]) {
      expect(all).not.toContain(action);
    }
  });

  it("publisher: batch-reads, updates, lists items and deletes its holds (cannot create), consumes and re-sends commands, sends events", () => {
    expect(actionsOn("publisher", table())).toEqual(
      [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
      ].sort(),
    );
    expect(actionsOn("publisher", table(), "/index/gsi1")).toEqual(["dynamodb:Query"]);
    const all = statementsOf("publisher").flatMap((s) => s.Action);
    for (const action of ["dynamodb:PutItem", "dynamodb:BatchWriteItem"]) {
      expect(all).not.toContain(action);
    }
    expect(actionsOn("publisher", queue("commandsQueue"))).toEqual(
      [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
      ].sort(),
    );
    expect(actionsOn("publisher", queue("eventsQueue"))).toEqual([]);
    expect(actionsOn("publisher", topic())).toEqual(["sns:Publish"]);
  });

  it("commands DLQ consumer: gets and updates commands, consumes the DLQ, sends events", () => {
    expect(actionsOn("commandDlq", table())).toEqual(["dynamodb:GetItem", "dynamodb:UpdateItem"]);
    expect(actionsOn("commandDlq", queue("commandsDlq"))).toEqual(
      [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
      ].sort(),
    );
    expect(actionsOn("commandDlq", queue("eventsQueue"))).toEqual([]);
    expect(actionsOn("commandDlq", topic())).toEqual(["sns:Publish"]);
    expect(actionsOn("commandDlq", queue("commandsQueue"))).toEqual([]);
  });

  it("api: reads and writes the table (scan for exports), sends commands and events, receives nothing", () => {
    expect(actionsOn("api", table()).filter((a, i, all) => all.indexOf(a) === i)).toEqual(
      [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:UpdateItem",
        // PUT /v1/devices/{sn}: the profile and its group memberships in one transaction (IAM authorizes
        // TransactWriteItems by its items' Put and Delete).
        "dynamodb:DeleteItem",
      ].sort(),
    );
    expect(actionsOn("api", queue("commandsQueue"))).toEqual(["sqs:SendMessage"]);
    expect(actionsOn("api", queue("eventsQueue"))).toEqual([]);
    expect(actionsOn("api", topic())).toEqual(["sns:Publish"]);
    expect(statementsOf("api").flatMap((s) => s.Action)).not.toContain("sqs:ReceiveMessage");
  });
});

describe("least privilege: the feed publisher", () => {
  it("consumes the feed queue and nothing else: no table, no queue or topic to send to", () => {
    const statements = statementsOf("feed");
    const feedQueue = idOf(stack.bridge.storage.feedQueue);
    const all = statements.flatMap((s) => s.Action);
    expect(all.filter((a) => a.startsWith("dynamodb:"))).toEqual([]);
    expect(all).not.toContain("sqs:SendMessage");
    expect(all).not.toContain("sns:Publish");
    for (const statement of statements.filter((s) => s.Action.some((a) => a.startsWith("sqs:")))) {
      expect(statement.Resource.every((r) => mentions(r, feedQueue))).toBe(true);
    }
  });
});

describe("observability", () => {
  const alarms = () => Object.values(template.findResources("AWS::CloudWatch::Alarm"));
  const alarmOn = (metricName: string, extra: Json = {}) =>
    alarms().filter(
      (a) =>
        a.Properties.MetricName === metricName &&
        JSON.stringify(a).includes(JSON.stringify(extra).slice(1, -1)),
    );

  it("alarms on both DLQs' depth", () => {
    for (const dlq of [stack.bridge.storage.eventsDlq, stack.bridge.storage.commandsDlq]) {
      const found = alarmOn("ApproximateNumberOfMessagesVisible").filter((a) => mentions(a, idOf(dlq)));
      expect(found).toHaveLength(1);
      expect(found[0]?.Properties).toMatchObject({ Threshold: 1, Namespace: "AWS/SQS" });
    }
  });

  it("alarms on errors and throttles of each function", () => {
    for (const fn of ["ingest", "api", "publisher"] as const) {
      for (const metric of ["Errors", "Throttles"]) {
        const found = alarmOn(metric).filter((a) => mentions(a, idOf(stack.bridge[fn].function)));
        expect(found, `${fn} ${metric}`).toHaveLength(1);
      }
    }
  });

  it("alarms on quarantine growth and 503s from the ingest's EMF metrics", () => {
    for (const metric of [METRIC.Quarantined, METRIC.Unavailable503]) {
      const found = alarmOn(metric);
      expect(found).toHaveLength(1);
      expect(found[0]?.Properties).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        Dimensions: [{ Name: "service", Value: METRICS_SERVICE.ingest }],
        Statistic: "Sum",
      });
    }
  });

  it("alarms on EMQX publish failures (result failed or retry)", () => {
    const found = alarms().filter((a) => JSON.stringify(a).includes(METRIC.EmqxPublishResults));
    expect(found).toHaveLength(1);
    const text = JSON.stringify(found[0]);
    for (const result of ["failed", "retry"]) expect(text).toContain(`{"Name":"result","Value":"${result}"}`);
    expect(text).toContain(`{"Name":"service","Value":"${METRICS_SERVICE.publisher}"}`);
  });

  it("has a dashboard with those graphs", () => {
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    const body = JSON.stringify(Object.values(template.findResources("AWS::CloudWatch::Dashboard"))[0]);
    for (const name of Object.values(METRIC)) expect(body).toContain(name);
    for (const name of ["Errors", "Throttles", "ApproximateNumberOfMessagesVisible"])
      expect(body).toContain(name);
    // Stored events write no metrics line: the events topic's own count is the published-events graph.
    const topicId = Object.keys(
      template.findResources("AWS::SNS::Topic", { Properties: { FifoTopic: true } }),
    );
    expect(topicId).toHaveLength(1);
    expect(body).toContain("NumberOfMessagesPublished");
    expect(body).toContain(JSON.stringify({ "Fn::GetAtt": [topicId[0], "TopicName"] }));
  });

  it("sends alarms to a topic when given one (-c alarmTopicArn=...)", () => {
    const arn = "arn:aws:sns:eu-west-1:123456789012:ops";
    const { template: withTopic } = synth({ alarmTopicArn: arn });
    const all = Object.values(withTopic.findResources("AWS::CloudWatch::Alarm"));
    expect(all.length).toBeGreaterThanOrEqual(11);
    for (const alarm of all) expect(alarm.Properties.AlarmActions).toEqual([arn]);
    for (const alarm of alarms()) expect(alarm.Properties.AlarmActions).toBeUndefined();
  });
});

describe("outputs", () => {
  it("gives npm run emqx:import and the operator what they need", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        "IngestUrl",
        "IngestTokenSecretArn",
        "IngestTokenCommand",
        "ApiUrl",
        "ApiKeySecretArn",
        "EventsQueueUrl",
        "EventsDlqUrl",
        "CommandsQueueUrl",
        "CommandsDlqUrl",
        "CommandsSubscriptionDlqUrl",
        "TableName",
        "EmqxApiSecretArn",
        "EmqxImportCommand",
      ]),
    );
    // The Function URL without its trailing slash: the EMQX action appends /emqx/rule-events.
    expect(JSON.stringify(outputs.IngestUrl?.Value)).toContain('"https://"');
    expect(JSON.stringify(outputs.EmqxImportCommand?.Value)).toContain("npm run emqx:import");
    template.hasParameter("EmqxApiUrl", { Type: "String" });
  });
});

describe("EmqxApiUrl: the listener, with or without /api/v5", () => {
  const publisherUrl = () => {
    const publisher = resources[idOf(stack.bridge.publisher.function)];
    return (publisher?.Properties.Environment as { Variables: Json } | undefined)?.Variables.EMQX_API_URL;
  };

  it.each([
    "https://emqx.example.com:18084",
    "https://emqx.example.com:18084/",
    "https://emqx.example.com:18084/api/v5",
    "https://emqx.example.com:18084/api/v5/",
  ])("gives the publisher <listener>/api/v5 for the parameter %s", (value) => {
    expect(evaluate(publisherUrl(), { EmqxApiUrl: value })).toBe("https://emqx.example.com:18084/api/v5");
  });

  it("keeps a reverse proxy's path prefix", () => {
    expect(evaluate(publisherUrl(), { EmqxApiUrl: "https://proxy.example.com/emqx" })).toBe(
      "https://proxy.example.com/emqx/api/v5",
    );
  });

  it("lets CloudFormation refuse what is not an http(s) URL", () => {
    const { AllowedPattern } = (template.toJSON().Parameters as Record<string, Json>).EmqxApiUrl as {
      AllowedPattern: string;
    };
    const allowed = (value: string) => new RegExp(AllowedPattern).test(value);
    expect(["http://10.0.0.5:18083", "https://emqx.example.com:18084/api/v5"].every(allowed)).toBe(true);
    expect(["emqx:18083", "ftp://emqx", "https://emqx:18084/?a=1", "https://emqx :18084"].some(allowed)).toBe(
      false,
    );
  });

  it("normalises and checks a literal URL given to the construct", () => {
    expect(emqxApiUrlForPublisher("http://emqx:18083/")).toBe("http://emqx:18083/api/v5");
    expect(() => emqxApiUrlForPublisher("http://emqx:18083/api/v4")).toThrow("/api/v5, not /api/v4");
  });
});

/** Evaluates the intrinsic functions the URL uses (Ref, Fn::Join, Fn::Split, Fn::Select), as CloudFormation does. */
function evaluate(value: unknown, parameters: Record<string, string>): unknown {
  if (typeof value === "string" || typeof value !== "object" || value === null) return value;
  const [fn, args] = Object.entries(value)[0] as [string, unknown];
  const list = args as unknown[];
  if (fn === "Ref") return parameters[args as string];
  if (fn === "Fn::Join") {
    return (evaluate(list[1], parameters) as unknown[])
      .map((v) => evaluate(v, parameters))
      .join(list[0] as string);
  }
  if (fn === "Fn::Split") return (evaluate(list[1], parameters) as string).split(list[0] as string);
  if (fn === "Fn::Select") return (evaluate(list[1], parameters) as unknown[])[list[0] as number];
  if (Array.isArray(value)) return value;
  throw new Error(`cannot evaluate ${fn}`);
}

describe("cdk-nag (AwsSolutions, through CDK's Validations API)", () => {
  it("has no unacknowledged finding", () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
    expect(report.success).toBe(true);
  });

  it("justifies every acknowledgement, and each still silences a real finding", () => {
    const acknowledged: Array<{ path: string; id: string; reason: string }> = [];
    for (const construct of app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledged.push({ path: construct.node.path, id: id.replace(/^annotation::/i, ""), reason });
        }
      }
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(40);
    // Run the pack again as if nothing were acknowledged: every acknowledgement must match a finding.
    const blind = new AwsSolutionsChecks();
    (blind as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    const findings = blind
      .validateScope(app)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? "" })),
      );
    for (const { path, id } of acknowledged) {
      expect(
        findings.some((f) => f.id === id && f.path.startsWith(`${path}/`)),
        `${id} on ${path}`,
      ).toBe(true);
    }
  });

  it("fails the synth on a finding nobody acknowledged", async () => {
    const { Secret } = await import("aws-cdk-lib/aws-secretsmanager");
    const outdir = mkdtempSync(join(tmpdir(), "bridge-cdk-"));
    outdirs.push(outdir);
    const { app: failing, stack: target } = createApp({ outdir, context: { "aws:cdk:bundling-stacks": [] } });
    new Secret(target as Stack, "Unrotated");
    expect(() => failing.synth()).toThrow(/AwsSolutions-SMG4/);
  });
});
