import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { EmqxBridgeStack } from "./stack.ts";

/** The stack's name, also what `aws cloudformation describe-stacks --stack-name` takes. */
export const STACK_NAME = "EmqxBridge";

/**
 * The CDK app `cdk.json` runs: one stack, with cdk-nag's AwsSolutions pack run on every synth through
 * CDK's Validations API (any unacknowledged finding fails the synth). Context values (`-c key=value`):
 * `ingestReservedConcurrency`, `tableRemovalPolicy=destroy`, `alarmTopicArn`, `secretsRevision`,
 * `liveBrokerWsUrl`.
 */
export function createApp(props: AppProps = {}) {
  const app = new App(props);
  const context = (key: string) => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === null || value === "" ? undefined : String(value);
  };
  const reserved = context("ingestReservedConcurrency");
  if (reserved !== undefined && !/^\d+$/.test(reserved)) {
    throw new Error("ingestReservedConcurrency must be a whole number");
  }
  const removal = context("tableRemovalPolicy");
  if (removal !== undefined && !["retain", "destroy"].includes(removal)) {
    throw new Error("tableRemovalPolicy must be retain or destroy");
  }
  const alarmTopicArn = context("alarmTopicArn");
  const secretsRevision = context("secretsRevision");
  const liveBrokerWsUrl = context("liveBrokerWsUrl");
  if (liveBrokerWsUrl !== undefined && !/^wss?:\/\/[^\s?#]+$/.test(liveBrokerWsUrl)) {
    throw new Error("liveBrokerWsUrl must be a ws:// or wss:// URL");
  }
  const stack = new EmqxBridgeStack(app, STACK_NAME, {
    description:
      "emqx-serverless-bridge: EMQX rule engine -> Lambda -> DynamoDB + SQS, commands back to EMQX",
    ...(reserved !== undefined ? { ingestReservedConcurrency: Number(reserved) } : {}),
    destroyTable: removal === "destroy",
    ...(alarmTopicArn ? { alarmTopicArn } : {}),
    ...(secretsRevision ? { secretsRevision } : {}),
    ...(liveBrokerWsUrl ? { liveBrokerWsUrl } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
