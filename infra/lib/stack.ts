import { CfnOutput, CfnParameter, Fn, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { EMQX_API_URL_PATTERN } from "./emqx-api-url.ts";
import { EmqxBridge } from "./emqx-bridge.ts";

export interface EmqxBridgeStackProps extends StackProps {
  /** See `EmqxBridgeProps`; `cdk -c ingestReservedConcurrency=50`. */
  ingestReservedConcurrency?: number;
  /** `cdk -c tableRemovalPolicy=destroy` for a throwaway stack; default RETAIN. */
  destroyTable?: boolean;
  /** `cdk -c alarmTopicArn=arn:aws:sns:...`: an existing topic alarms notify. */
  alarmTopicArn?: string;
  /** `cdk -c secretsRevision=2`: restarts every function so it reads the secrets again. */
  secretsRevision?: string;
  /** `cdk -c liveBrokerWsUrl=wss://emqx.example.com:8084/mqtt`: the broker the live page connects to. */
  liveBrokerWsUrl?: string;
}

/**
 * The deployable stack: the bridge, a parameter for EMQX's API URL (given once, `cdk deploy --parameters
 * EmqxApiUrl=...`; later deploys keep it) and the outputs `npm run emqx:import` takes.
 */
export class EmqxBridgeStack extends Stack {
  readonly bridge: EmqxBridge;

  constructor(scope: Construct, id: string, props: EmqxBridgeStackProps = {}) {
    super(scope, id, props);
    const emqxApiUrl = new CfnParameter(this, "EmqxApiUrl", {
      type: "String",
      description:
        "EMQX's management API the publisher calls: the dashboard listener, e.g. https://emqx.example.com:18084 (with or without /api/v5)",
      allowedPattern: EMQX_API_URL_PATTERN,
      constraintDescription:
        "an http:// or https:// URL without query or spaces, e.g. https://emqx.example.com:18084",
    });
    this.bridge = new EmqxBridge(this, "Bridge", {
      emqxApiUrl: emqxApiUrl.valueAsString,
      tableRemovalPolicy: props.destroyTable ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      ...(props.ingestReservedConcurrency !== undefined
        ? { ingestReservedConcurrency: props.ingestReservedConcurrency }
        : {}),
      ...(props.alarmTopicArn
        ? { alarmTopic: Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn) }
        : {}),
      ...(props.secretsRevision ? { secretsRevision: props.secretsRevision } : {}),
      ...(props.liveBrokerWsUrl ? { liveBrokerWsUrl: props.liveBrokerWsUrl } : {}),
    });

    const { storage, secrets } = this.bridge;
    const getSecret = (arn: string) =>
      `aws secretsmanager get-secret-value --secret-id ${arn} --query SecretString --output text`;
    // The Function URL ends in "/"; EMQX's connector wants the base URL without it (the action adds the path).
    const base = (url: string) => `https://${Fn.select(2, Fn.split("/", url))}`;
    const outputs: Record<string, { value: string; description: string }> = {
      IngestUrl: {
        value: base(this.bridge.ingestUrl.url),
        description: "--ingest-url of npm run emqx:import (EMQX posts to <IngestUrl>/emqx/rule-events)",
      },
      IngestTokenSecretArn: {
        value: secrets.ingestTokens.secretArn,
        description: "Secret with the ingest bearer token(s), comma-separated",
      },
      IngestTokenCommand: {
        value: `${getSecret(secrets.ingestTokens.secretArn)} | cut -d, -f1`,
        description: "Prints the token for --token of npm run emqx:import",
      },
      ApiUrl: { value: base(this.bridge.apiUrl.url), description: "The command and operations API" },
      ApiKeySecretArn: {
        value: secrets.apiKeys.secretArn,
        description: "Secret with the API's bootstrap admin key(s), comma-separated",
      },
      ApiKeyCommand: {
        value: `${getSecret(secrets.apiKeys.secretArn)} | cut -d, -f1`,
        description: "Prints the bootstrap admin API key",
      },
      DeviceTokenSecretArn: {
        value: secrets.deviceTokenSecrets.secretArn,
        description: "Secret HTTP device tokens derive from (npm run device-token -- --secret ...)",
      },
      EmqxApiSecretArn: {
        value: secrets.emqxApi.secretArn,
        description: 'EMQX API key of the publisher, {"EMQX_API_KEY","EMQX_API_SECRET"}: register it in EMQX',
      },
      EmqxAdminApiSecretArn: {
        value: secrets.emqxAdminApi.secretArn,
        description:
          'EMQX API key (role administrator) the API kicks revoked devices with, {"EMQX_API_KEY","EMQX_API_SECRET"}: register it in EMQX',
      },
      EventsQueueUrl: { value: storage.eventsQueue.queueUrl, description: "Fan-out for your applications" },
      EventsDlqUrl: {
        value: storage.eventsDlq.queueUrl,
        description: "Events your consumers failed 5 times",
      },
      EventsTopicArn: {
        value: storage.eventsTopic.topicArn,
        description:
          "SNS FIFO topic every event is published to (subscribe your own FIFO queue, raw delivery)",
      },
      FeedQueueUrl: {
        value: storage.feedQueue.queueUrl,
        description: "The events' copy the feed publishes to EMQX (bridge-feed)",
      },
      CommandsQueueUrl: { value: storage.commandsQueue.queueUrl, description: "Commands FIFO queue" },
      CommandsDlqUrl: { value: storage.commandsDlq.queueUrl, description: "Commands EMQX never took" },
      CommandsSubscriptionDlqUrl: {
        value: storage.commandsSubscriptionDlq.queueUrl,
        description: "New commands SNS could not put on the commands queue (redrive: docs/deploy.md)",
      },
      TableName: { value: storage.table.tableName, description: "The DynamoDB table" },
      DashboardName: {
        value: this.bridge.observability.dashboard.dashboardName,
        description: "CloudWatch dashboard",
      },
      EmqxImportCommand: {
        // Secrets through the environment: npm prints a script's arguments.
        value: [
          `INGEST_TOKEN="$(${getSecret(secrets.ingestTokens.secretArn)} | cut -d, -f1)"`,
          "EMQX_API_SECRET=ADMIN_SECRET npm run emqx:import -- --url https://YOUR-EMQX:18084 --key ADMIN_KEY",
          `--ingest-url ${base(this.bridge.ingestUrl.url)} --api-url ${base(this.bridge.apiUrl.url)}`,
        ].join(" "),
        description: "Step 3 of docs/deploy.md with this stack's values filled in",
      },
    };
    for (const [id, output] of Object.entries(outputs)) new CfnOutput(this, id, output);
  }
}
