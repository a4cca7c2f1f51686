import { fileURLToPath } from "node:url";
import { Duration } from "aws-cdk-lib";
import { Metric } from "aws-cdk-lib/aws-cloudwatch";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type IQueue, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "../../functions/core/metrics.ts";
import { BridgeFunction } from "./bridge-function.ts";
import { grantSend, grantTable } from "./permissions.ts";

export const GAPS_ENTRY = fileURLToPath(new URL("../../functions/gaps/handler.ts", import.meta.url));
/**
 * One pass over the fleet every 5 minutes: a third of the grace period (15 min, functions/core/gaps/
 * config.ts), so a gap is announced at most ~5 min after its grace ends.
 */
export const GAPS_SCHEDULE = Duration.minutes(5);
/** Under the schedule's rate, so passes rarely overlap (an overlap is safe: the tracker's save is conditional). */
export const GAPS_TRACKER_TIMEOUT = Duration.minutes(4);
/**
 * Receives of a heartbeat report before its DLQ: each pass takes the waiting reports and deletes them
 * after it; a report that comes back this many times belongs to passes that keep dying.
 */
export const GAPS_REPORTS_MAX_RECEIVES = 10;
/** The `service` dimension of the tracker's metrics (Powertools' serviceName in functions/gaps/handler.ts). */
export const GAPS_METRICS_SERVICE = "bridge-gaps";
/**
 * The tracker reads its item (GetItem), the punches and the device list (Query on the table and gsi1),
 * saves its item (conditional PutItem), flags suspect punches (UpdateItem); creating a `resend` or
 * `set_time` command is a PutItem (create if absent, GetItem on a replay) and an UpdateItem (enqueued).
 */
export const GAPS_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:Query",
];

export interface GapTrackerProps {
  table: ITable;
  commandsQueue: IQueue;
  /** The functions' shared environment (table, events topic, commands queue). */
  environment: Record<string, string>;
  logRetention: RetentionDays;
  /** Lets a function send events (the bridge's EventQueue port: the topic). */
  grantEvents: (fn: BridgeFunction) => void;
}

/**
 * The gap tracker (issue 14): a function an EventBridge schedule runs every {@link GAPS_SCHEDULE}, and
 * the standard queue of heartbeat reports (`last_seq`, `device_time`) the ingest sends to
 * ({@link GapTracker.acceptReports}) and each pass drains itself (no event source: the pass reads
 * them all at once, before it reconciles the fleet).
 */
export class GapTracker extends Construct {
  readonly reports: Queue;
  readonly reportsDlq: Queue;
  readonly function: BridgeFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: GapTrackerProps) {
    super(scope, id);
    const encrypted = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };
    this.reportsDlq = new Queue(this, "ReportsDlq", { ...encrypted, retentionPeriod: Duration.days(14) });
    this.reports = new Queue(this, "Reports", {
      ...encrypted,
      // The pass's own ReceiveMessage asks for 300 s (functions/gaps/report-queue.ts); this is the default.
      visibilityTimeout: Duration.seconds(300),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.reportsDlq, maxReceiveCount: GAPS_REPORTS_MAX_RECEIVES },
    });
    this.function = new BridgeFunction(this, "Tracker", {
      entry: GAPS_ENTRY,
      description:
        "emqx-serverless-bridge gap tracker: missing punch numbers -> resend, gap and drift events",
      memorySize: 512,
      timeout: GAPS_TRACKER_TIMEOUT,
      logRetention: props.logRetention,
      environment: { ...props.environment, GAPS_QUEUE_URL: this.reports.queueUrl },
    });
    grantTable(this.function, props.table, { actions: GAPS_TABLE_ACTIONS, index: true });
    grantSend(this.function, props.commandsQueue);
    props.grantEvents(this.function);
    this.function.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
        resources: [this.reports.queueArn],
      }),
    );
    // A missed pass is redone by the next one: no retries of the asynchronous invocation.
    this.schedule = new Rule(this, "Schedule", {
      description: "emqx-serverless-bridge gap tracker pass",
      schedule: Schedule.rate(GAPS_SCHEDULE),
      targets: [new LambdaFunction(this.function.function, { retryAttempts: 0 })],
    });
  }

  /** The ingest sends heartbeat reports here (an SQS request per heartbeat carrying them, no table write). */
  acceptReports(ingest: BridgeFunction): void {
    ingest.function.addEnvironment("GAPS_QUEUE_URL", this.reports.queueUrl);
    grantSend(ingest, this.reports);
  }

  /** One of the tracker's counts (`GapsOpened`, `GapsClosed`, `GapsUnrecoverable`, `ClockDrift`). */
  metric(name: string, period: Duration = Duration.minutes(5)): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { service: GAPS_METRICS_SERVICE },
      statistic: "Sum",
      period,
    });
  }
}
