/**
 * The gap tracker in the synthesized stack (bundling skipped): its schedule, the heartbeat reports queue
 * the ingest sends to, its role, its alarm and dashboard, the other DLQ alarms and the outputs, with
 * cdk-nag's AwsSolutions pack run on the whole app (a finding fails the synth).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../infra/lib/app.ts";
import {
  GAPS_METRICS_SERVICE,
  GAPS_REPORTS_MAX_RECEIVES,
  GAPS_SCHEDULE,
  GAPS_TABLE_ACTIONS,
} from "../../infra/lib/gaps.ts";
import type { EmqxBridgeStack } from "../../infra/lib/stack.ts";

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties: Json };

let outdir: string;
let stack: EmqxBridgeStack;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), "bridge-gaps-"));
  const built = createApp({ outdir, context: { "aws:cdk:bundling-stacks": [] } });
  built.app.synth(); // throws on any unacknowledged cdk-nag finding
  stack = built.stack;
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as typeof resources;
}, 180_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const idOf = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const envOf = (fn: IConstruct) =>
  (resources[idOf(fn)]?.Properties.Environment as { Variables: Json } | undefined)?.Variables ?? {};

/** The actions the role's policies allow on a resource (by logical id, optionally a path suffix). */
function actionsOn(roleId: string, logicalId: string, suffix = ""): string[] {
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties.Roles).includes(roleId))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Json[] }).Statement)
    .filter((s) => {
      const targets = [s.Resource].flat().map((r) => JSON.stringify(r));
      return targets.some((r) => r.includes(`"${logicalId}"`) && (suffix ? r.includes(suffix) : true));
    })
    .flatMap((s) => [s.Action].flat() as string[])
    .sort();
}

describe("the gap tracker in the stack", () => {
  it("runs the tracker on an EventBridge schedule, without retries (the next pass redoes a missed one)", () => {
    const { gaps } = stack.bridge;
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: `rate(${GAPS_SCHEDULE.toMinutes()} minutes)`,
      State: "ENABLED",
      Targets: [
        {
          Arn: { "Fn::GetAtt": [idOf(gaps.function.function), "Arn"] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Principal: "events.amazonaws.com",
      FunctionName: { "Fn::GetAtt": [idOf(gaps.function.function), "Arn"] },
    });
  });

  it("has a standard, encrypted, SSL-only reports queue with a DLQ, drained by the pass (no event source)", () => {
    const { gaps } = stack.bridge;
    const queue = resources[idOf(gaps.reports)]?.Properties;
    expect(queue?.FifoQueue).toBeUndefined();
    expect(queue).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: { maxReceiveCount: GAPS_REPORTS_MAX_RECEIVES },
    });
    const sslOnly = Object.values(resources).filter(
      (r) =>
        r.Type === "AWS::SQS::QueuePolicy" &&
        JSON.stringify(r.Properties).includes('"aws:SecureTransport":"false"'),
    );
    for (const queueToSecure of [gaps.reports, gaps.reportsDlq]) {
      expect(sslOnly.some((p) => JSON.stringify(p.Properties.Queues).includes(idOf(queueToSecure)))).toBe(
        true,
      );
    }
    const mappings = Object.values(resources).filter((r) => r.Type === "AWS::Lambda::EventSourceMapping");
    expect(JSON.stringify(mappings)).not.toContain(`"${idOf(gaps.reports)}"`);
    expect(envOf(gaps.function.function).GAPS_QUEUE_URL).toEqual({ Ref: idOf(gaps.reports) });
  });

  it("tells the ingest where to send heartbeat reports and lets it send there, nothing more", () => {
    const { gaps, ingest } = stack.bridge;
    expect(envOf(ingest.function).GAPS_QUEUE_URL).toEqual({ Ref: idOf(gaps.reports) });
    expect(actionsOn(idOf(ingest.role), idOf(gaps.reports))).toEqual(["sqs:SendMessage"]);
  });

  it("gives the tracker only its table actions, the commands queue, the events topic and its reports", () => {
    const { gaps, storage } = stack.bridge;
    const role = idOf(gaps.function.role);
    expect([...new Set(actionsOn(role, idOf(storage.table)))]).toEqual([...GAPS_TABLE_ACTIONS].sort());
    expect(actionsOn(role, idOf(storage.table), "/index/gsi1")).toEqual(["dynamodb:Query"]);
    expect(actionsOn(role, idOf(storage.commandsQueue))).toEqual(["sqs:SendMessage"]);
    expect(actionsOn(role, stack.getLogicalId(storage.eventsTopic.node.defaultChild as CfnElement))).toEqual([
      "sns:Publish",
    ]);
    expect(actionsOn(role, idOf(storage.eventsQueue))).toEqual([]);
    expect(actionsOn(role, idOf(gaps.reports))).toEqual(["sqs:DeleteMessage", "sqs:ReceiveMessage"]);
  });

  it("alarms when a gap becomes unrecoverable, on the tracker's own metric", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "GapsUnrecoverable",
      Namespace: "EmqxBridge",
      Dimensions: [{ Name: "service", Value: GAPS_METRICS_SERVICE }],
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("shows gaps opened, unrecoverable and clock drift on the dashboard", () => {
    const dashboard = JSON.stringify(template.findResources("AWS::CloudWatch::Dashboard"));
    for (const name of ["GapsOpened", "GapsUnrecoverable", "ClockDrift"]) expect(dashboard).toContain(name);
    expect(dashboard).toContain(GAPS_METRICS_SERVICE);
  });

  it("alarms on the feed, webhooks and reports DLQs", () => {
    const { storage, webhooks, gaps } = stack.bridge;
    const alarms = Object.values(resources).filter((r) => r.Type === "AWS::CloudWatch::Alarm");
    for (const dlq of [storage.feedDlq, storage.webhooksDlq, webhooks.deliveryDlq, gaps.reportsDlq]) {
      const alarm = alarms.find((a) => JSON.stringify(a.Properties.Dimensions).includes(`"${idOf(dlq)}"`));
      expect(alarm?.Properties).toMatchObject({
        MetricName: "ApproximateNumberOfMessagesVisible",
        Threshold: 1,
      });
    }
  });

  it("outputs the events topic and the feed queue", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.EventsTopicArn?.Value).toEqual({
      Ref: stack.getLogicalId(stack.bridge.storage.eventsTopic.node.defaultChild as CfnElement),
    });
    expect(outputs.FeedQueueUrl?.Value).toEqual({ Ref: idOf(stack.bridge.storage.feedQueue) });
  });
});
