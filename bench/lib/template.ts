import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { createApp } from "../../infra/lib/app.ts";

export interface FunctionSettings {
  memoryMb: number;
  arm: boolean;
  logFormat: string;
  applicationLogLevel: string;
  systemLogLevel: string;
}

/** What the cost depends on, read from the template `npm run synth` produces (bundling skipped). */
export interface TemplateFacts {
  functions: Record<"ingest" | "api" | "publisher" | "feed", FunctionSettings>;
  /** Projection of each global secondary index: a write of an item with its keys is written there too. */
  gsiProjections: string[];
  /** Partition key attribute of each global secondary index, in the same order: an item lacking it is not there. */
  gsiPartitionKeys: string[];
  eventsFifo: boolean;
  commandsFifo: boolean;
  /**
   * Whether events go through an SNS FIFO topic, and how many queues it delivers each event to (the
   * subscriptions without a filter policy: the commands queue's takes only `queued` announcements).
   */
  eventsTopicFifo: boolean;
  eventsSubscriptions: number;
}

export function readTemplate(): TemplateFacts {
  const outdir = mkdtempSync(join(tmpdir(), "bench-synth-"));
  try {
    const { app, stack } = createApp({ outdir, context: { "aws:cdk:bundling-stacks": [] } });
    app.synth();
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { Properties?: Record<string, unknown> }
    >;
    const props = (construct: IConstruct) =>
      resources[stack.getLogicalId(construct.node.defaultChild as CfnElement)]?.Properties ?? {};
    const fn = (name: "ingest" | "api" | "publisher" | "feed"): FunctionSettings => {
      const p = props(stack.bridge[name].function) as Record<string, unknown> & {
        LoggingConfig?: Record<string, string>;
      };
      return {
        memoryMb: Number(p.MemorySize ?? 128),
        arm: JSON.stringify(p.Architectures ?? []).includes("arm64"),
        logFormat: p.LoggingConfig?.LogFormat ?? "Text",
        applicationLogLevel: p.LoggingConfig?.ApplicationLogLevel ?? "INFO",
        systemLogLevel: p.LoggingConfig?.SystemLogLevel ?? "INFO",
      };
    };
    const table = props(stack.bridge.storage.table) as {
      GlobalSecondaryIndexes?: Array<{
        Projection?: { ProjectionType?: string };
        KeySchema?: Array<{ AttributeName: string; KeyType: string }>;
      }>;
    };
    return {
      functions: { ingest: fn("ingest"), api: fn("api"), publisher: fn("publisher"), feed: fn("feed") },
      gsiProjections: (table.GlobalSecondaryIndexes ?? []).map((g) => g.Projection?.ProjectionType ?? "ALL"),
      gsiPartitionKeys: (table.GlobalSecondaryIndexes ?? []).map(
        (g) => g.KeySchema?.find((k) => k.KeyType === "HASH")?.AttributeName ?? "",
      ),
      eventsFifo: Boolean(props(stack.bridge.storage.eventsQueue).FifoQueue),
      commandsFifo: Boolean(props(stack.bridge.storage.commandsQueue).FifoQueue),
      eventsTopicFifo: Boolean(props(stack.bridge.storage.eventsTopic).FifoTopic),
      eventsSubscriptions: Object.values(resources).filter(
        (r) =>
          (r as { Type?: string }).Type === "AWS::SNS::Subscription" &&
          r.Properties?.FilterPolicy === undefined &&
          JSON.stringify(r.Properties?.TopicArn).includes(
            stack.getLogicalId(stack.bridge.storage.eventsTopic.node.defaultChild as CfnElement),
          ),
      ).length,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
