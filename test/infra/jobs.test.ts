import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { JOBS_MAX_RECEIVES, JOBS_WORKER_TIMEOUT } from "../../infra/lib/jobs.ts";
import { EmqxBridgeStack } from "../../infra/lib/stack.ts";

const stack = new EmqxBridgeStack(new App(), "JobsTest", { destroyTable: true });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, unknown> }
>;
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId((construct.node.defaultChild ?? construct) as never);

describe("jobs in the stack", () => {
  const { jobs, api } = stack.bridge;

  it("has a standard jobs queue (per-message delays) with a DLQ, visible again after 6x the worker timeout", () => {
    const queue = resources[idOf(jobs.queue)]?.Properties;
    expect(queue?.FifoQueue).toBeUndefined();
    expect(queue).toMatchObject({
      VisibilityTimeout: 6 * JOBS_WORKER_TIMEOUT.toSeconds(),
      RedrivePolicy: { maxReceiveCount: JOBS_MAX_RECEIVES },
      SqsManagedSseEnabled: true,
    });
  });

  it("runs the worker on the jobs queue with partial batch failures", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      EventSourceArn: { "Fn::GetAtt": [idOf(jobs.queue), "Arn"] },
      FunctionName: { Ref: idOf(jobs.function.function) },
    });
  });

  it("tells the API where the jobs queue is and lets it send there, and query the byJob index", () => {
    const env = resources[idOf(api.function)]?.Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(env.Variables.JOBS_QUEUE_URL).toEqual({ Ref: idOf(jobs.queue) });
    const policies = JSON.stringify(template.findResources("AWS::IAM::Policy"));
    expect(policies).toContain("/index/byJob");
  });
});
