import { fileURLToPath } from "node:url";
import { Duration } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { type IQueue, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { JOBS_INDEX } from "../../functions/adapters/dynamodb/job-store.ts";
import { SLICE_RUN_LIMIT_MS } from "../../functions/core/jobs/rollout.ts";
import { BridgeFunction } from "./bridge-function.ts";
import { grantSend, grantTable } from "./permissions.ts";

export const JOBS_ENTRY = fileURLToPath(new URL("../../functions/jobs/handler.ts", import.meta.url));
/** One slice (100 conditional puts, 20 sends) or one check (a job's executions read, up to 1,000 moved). */
export const JOBS_WORKER_TIMEOUT = Duration.seconds(60);
// A stopped job's slice still open SLICE_RUN_LIMIT_MS after the stop is taken for dead: a slice runs
// within the worker's timeout, and the stop is written within one more.
if (JOBS_WORKER_TIMEOUT.toMilliseconds() * 2 >= SLICE_RUN_LIMIT_MS) {
  throw new Error("SLICE_RUN_LIMIT_MS must exceed twice the jobs worker's timeout");
}
/** Receives of a jobs message before its DLQ; every step is safe to repeat. */
export const JOBS_MAX_RECEIVES = 10;
/** Seconds between a running job's checks (they back off to 15 min while nothing changes). */
export const JOB_CHECK_SECONDS = 10;
/**
 * The worker stores executions (PutItem), moves job and command statuses (UpdateItem), reads jobs
 * (GetItem), lists group members, the fleet and a job's executions (Query on the table, gsi1, byJob).
 */
export const JOBS_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:Query",
];
/**
 * What `PUT /v1/devices/{sn}` adds to the API: the profile and its memberships in one TransactWriteItems,
 * which IAM authorizes by its items' actions (Put and Delete items; no ConditionCheck item, and there is
 * no `dynamodb:TransactWriteItems` action).
 */
const PROFILE_ACTIONS = ["dynamodb:PutItem", "dynamodb:DeleteItem"];

export interface JobsWorkerProps {
  table: ITable;
  commandsQueue: IQueue;
  /** The functions' shared environment (table, events, commands queue). */
  environment: Record<string, string>;
  logRetention: RetentionDays;
  /** Lets a function send events (the bridge's EventQueue port: the topic or the queue). */
  grantEvents: (fn: BridgeFunction) => void;
}

/**
 * Jobs: a standard queue (each message its own delay: the rollout's pace, the checks' backoff) with a
 * DLQ, and the worker on it. The API starts jobs there ({@link JobsWorker.allowStart}).
 */
export class JobsWorker extends Construct {
  readonly queue: Queue;
  readonly dlq: Queue;
  readonly function: BridgeFunction;

  constructor(scope: Construct, id: string, props: JobsWorkerProps) {
    super(scope, id);
    const encrypted = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };
    this.dlq = new Queue(this, "Dlq", { ...encrypted, retentionPeriod: Duration.days(14) });
    this.queue = new Queue(this, "Queue", {
      ...encrypted,
      visibilityTimeout: Duration.seconds(JOBS_WORKER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.dlq, maxReceiveCount: JOBS_MAX_RECEIVES },
    });
    this.function = new BridgeFunction(this, "Worker", {
      entry: JOBS_ENTRY,
      description: "emqx-serverless-bridge jobs: fan-out slices, checks, cancels",
      memorySize: 512,
      timeout: JOBS_WORKER_TIMEOUT,
      logRetention: props.logRetention,
      environment: {
        ...props.environment,
        JOBS_QUEUE_URL: this.queue.queueUrl,
        JOB_CHECK_SECONDS: String(JOB_CHECK_SECONDS),
      },
    });
    grantTable(this.function, props.table, { actions: JOBS_TABLE_ACTIONS, index: true });
    grantJobsIndex(this.function, props.table);
    grantSend(this.function, this.queue, props.commandsQueue);
    props.grantEvents(this.function);
    this.function.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
  }

  /** The API creates and cancels jobs (a message on the queue), reads executions and writes profiles. */
  allowStart(api: BridgeFunction, table: ITable): void {
    api.function.addEnvironment("JOBS_QUEUE_URL", this.queue.queueUrl);
    grantSend(api, this.queue);
    grantJobsIndex(api, table);
    api.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: PROFILE_ACTIONS, resources: [table.tableArn] }),
    );
  }
}

function grantJobsIndex(fn: BridgeFunction, table: ITable): void {
  fn.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ["dynamodb:Query"],
      resources: [`${table.tableArn}/index/${JOBS_INDEX}`],
    }),
  );
}
