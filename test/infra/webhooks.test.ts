/** The webhook sender in the synthesized template (bundling skipped): its queues, event sources and role. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../infra/lib/app.ts";
import type { EmqxBridgeStack } from "../../infra/lib/stack.ts";
import { WEBHOOK_SENDER_TIMEOUT, WEBHOOK_TABLE_ACTIONS } from "../../infra/lib/webhooks.ts";

type Json = Record<string, unknown>;
let outdir: string;
let stack: EmqxBridgeStack;
let resources: Record<string, Json & { Type: string; Properties: Json }>;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), "bridge-cdk-webhooks-"));
  const created = createApp({ outdir, context: { "aws:cdk:bundling-stacks": [] } });
  created.app.synth(); // cdk-nag findings fail it
  stack = created.stack;
  resources = Template.fromStack(stack).toJSON().Resources as typeof resources;
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const idOf = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const mentions = (value: unknown, id: string) => JSON.stringify(value).includes(`"${id}"`);
const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);

describe("webhook sender", () => {
  it("consumes the webhooks FIFO queue and its own delivery queue, in batches with partial failures", () => {
    const { webhooks, storage } = stack.bridge;
    const fnId = idOf(webhooks.function.function);
    const sources = ofType("AWS::Lambda::EventSourceMapping").filter((m) =>
      mentions(m.Properties.FunctionName, fnId),
    );
    const queues = sources.map((m) => m.Properties.EventSourceArn);
    expect(queues).toHaveLength(2);
    expect(queues.some((arn) => mentions(arn, idOf(storage.webhooksQueue)))).toBe(true);
    expect(queues.some((arn) => mentions(arn, idOf(webhooks.deliveryQueue)))).toBe(true);
    for (const source of sources) {
      expect(source.Properties).toMatchObject({
        BatchSize: 10,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
      });
    }
  });

  it("retries on a standard queue (per-message delays), visible again after 6x the sender's timeout, with a DLQ", () => {
    const delivery = resources[idOf(stack.bridge.webhooks.deliveryQueue)]?.Properties ?? {};
    expect(delivery.FifoQueue).toBeUndefined();
    expect(delivery.VisibilityTimeout).toBe(WEBHOOK_SENDER_TIMEOUT.toSeconds() * 6);
    expect(delivery.RedrivePolicy).toMatchObject({ maxReceiveCount: 10 });
    expect(delivery.SqsManagedSseEnabled).toBe(true);
  });

  it("may read and count subscriptions and keep dead letters, send to its delivery queue only; no topic, no delete", () => {
    const roleId = idOf(stack.bridge.webhooks.function.role);
    const statements = ofType("AWS::IAM::Policy")
      .filter((p) => mentions(p.Properties.Roles, roleId))
      .flatMap(
        (p) =>
          (p.Properties.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown }> })
            .Statement,
      );
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])) as string[];
    expect(actions.filter((a) => a.startsWith("dynamodb:")).sort()).toEqual(
      [...WEBHOOK_TABLE_ACTIONS].sort(),
    );
    expect(actions).not.toContain("dynamodb:DeleteItem");
    expect(actions).not.toContain("sns:Publish");
    const sends = statements.filter((s) => JSON.stringify(s.Action).includes("sqs:SendMessage"));
    expect(sends).toHaveLength(1);
    expect(mentions(sends[0]?.Resource, idOf(stack.bridge.webhooks.deliveryQueue))).toBe(true);
  });

  it("gets the table, its delivery queue and its settings by environment, no secret", () => {
    const fn = resources[idOf(stack.bridge.webhooks.function.function)]?.Properties ?? {};
    const variables = (fn.Environment as { Variables: Json }).Variables;
    expect(Object.keys(variables).sort()).toEqual(
      ["TABLE_NAME", "WEBHOOK_DELIVERY_QUEUE_URL", "WEBHOOK_RETRY_DELAYS_S", "WEBHOOK_TIMEOUT_MS"].sort(),
    );
    expect(fn.Timeout).toBe(WEBHOOK_SENDER_TIMEOUT.toSeconds());
  });
});
