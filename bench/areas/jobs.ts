import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { BatchWriteItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import { type AwsClients, createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { EmqxPublishClient } from "../../functions/adapters/emqx/publish-client.ts";
import { createJobPorts } from "../../functions/adapters/job-deps.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import type { DevicePublisher } from "../../functions/core/commands/ports.ts";
import { publishCommands, type QueuedCommand } from "../../functions/core/commands/publish-commands.ts";
import { isFannedOut } from "../../functions/core/jobs/check.ts";
import { createJob } from "../../functions/core/jobs/create-job.ts";
import { handleJobBatch } from "../../functions/jobs/batch.ts";
import { provision } from "../../local/provision.ts";
import { ensureJobsQueue } from "../../local/services/jobs-worker.ts";
import { startQueuePoller } from "../../local/services/queue-poller.ts";
import { SimulatedDevice } from "../../local/simulator/device.ts";
import { progressBar } from "../../local/simulator/progress.ts";
import type { LocalStack } from "../../local/stack.ts";
import { AwsRequestCounter, type RequestCount } from "../lib/aws-counter.ts";
import { benchLogger } from "../lib/fixture.ts";
import type { Area, Row } from "../lib/report.ts";

/** CI-short by default; `npm run bench -- --jobs-full` (or this file with `--executions 10000`) for the figure. */
export const JOB_EXECUTIONS = { short: 1_000, full: 10_000 } as const;
/** Jobs worker invocations side by side (Lambda's concurrency on the jobs queue, kept small locally). */
const WORKERS = 4;
/** Publisher batches sampled after the fan-out, their devices online. */
const SAMPLE_BATCHES = 5;

/**
 * Job fan-out: one `POST /v1/jobs` (createJob) over a group of N devices, the jobs worker creating the
 * executions in the background; time until every execution is stored, announced and on the commands
 * queue; DynamoDB writes per execution (fan-out, then a sample of publisher batches with their devices
 * online); EMQX calls per publisher batch.
 */
export async function jobFanout(stack: LocalStack, executions: number): Promise<Area> {
  const env = await jobBench(stack);
  try {
    const sns = Array.from({ length: executions }, (_, i) => `JB-${env.id}-${String(i).padStart(5, "0")}`);
    await seedGroup(env.clients, env.tableName, "bench", sns);
    const fanout = await measureFanout(env, executions);
    const publish = await samplePublisher(env, stack);
    return report(executions, fanout, publish);
  } finally {
    await env.stop();
  }
}

async function jobBench(stack: LocalStack) {
  const aws = { region: "us-east-1", credentials: LOCAL_CREDENTIALS, requestTimeoutMs: 10_000 };
  const clients: AwsClients = {
    dynamodb: createDynamoDbClient({ ...aws, endpoint: stack.endpoints.dynamodb }),
    sqs: createSqsClient({ ...aws, endpoint: stack.endpoints.sqs }),
  };
  const id = randomBytes(3).toString("hex");
  const resources = await provision(clients, {
    tableName: `bench-jobs-${id}`,
    eventsQueue: `bench-jobs-events-${id}`,
    commandsQueue: `bench-jobs-commands-${id}`,
  });
  const jobsQueue = await ensureJobsQueue(clients.sqs, `bench-jobs-${id}`);
  const counter = new AwsRequestCounter();
  counter.attach(clients.dynamodb, "DynamoDB");
  counter.attach(clients.sqs, "SQS");
  const config = {
    TABLE_NAME: resources.tableName,
    EVENTS_QUEUE_URL: resources.eventsQueueUrl,
    COMMANDS_QUEUE_URL: resources.commandsQueueUrl,
    JOBS_QUEUE_URL: jobsQueue.url,
    AWS_REGION: "us-east-1",
  };
  const deps = { ...createAwsDeps(config, clients), ...createJobPorts(config, clients), checkSeconds: 1 };
  return {
    id,
    clients,
    counter,
    deps,
    tableName: resources.tableName,
    commandsQueueUrl: resources.commandsQueueUrl,
    jobsQueueUrl: jobsQueue.url,
    stop: async () => {
      clients.dynamodb.destroy();
      clients.sqs.destroy();
    },
  };
}

type JobBench = Awaited<ReturnType<typeof jobBench>>;

/** The group's membership items, written directly (25 a call): the setup, not the figure. */
async function seedGroup(
  clients: AwsClients,
  tableName: string,
  group: string,
  sns: string[],
): Promise<void> {
  const at = new Date().toISOString();
  const chunks = Array.from({ length: Math.ceil(sns.length / 25) }, (_, i) => sns.slice(i * 25, i * 25 + 25));
  for (let i = 0; i < chunks.length; i += 8) {
    await Promise.all(
      chunks.slice(i, i + 8).map((chunk) =>
        clients.dynamodb.send(
          new BatchWriteItemCommand({
            RequestItems: {
              [tableName]: chunk.map((sn) => ({
                PutRequest: {
                  Item: marshall({
                    pk: `GROUP#${group}`,
                    sk: sn,
                    type: "group_member",
                    group,
                    sn,
                    groups: [group],
                    attributes: {},
                    updatedAt: at,
                  }),
                },
              })),
            },
          }),
        ),
      ),
    );
  }
}

interface Fanout {
  seconds: number;
  count: RequestCount;
  createCount: RequestCount;
  queued: number;
}

/** createJob, then the worker until the fan-out is over; every request counted. */
async function measureFanout(env: JobBench, executions: number): Promise<Fanout> {
  const logger = benchLogger();
  const progress = progressBar("job fan-out", executions);
  let seconds = 0;
  let createCount: RequestCount | undefined;
  const count = await env.counter.count(async () => {
    const started = performance.now();
    createCount = await env.counter.count(() =>
      createJob(env.deps, { id: "fanout", op: "sync_user", targets: { group: "bench" } }),
    );
    const pollers = Array.from({ length: WORKERS }, () =>
      startQueuePoller({
        sqs: env.clients.sqs,
        queueUrl: env.jobsQueueUrl,
        handler: (e) => handleJobBatch(env.deps, e, logger),
      }),
    );
    try {
      for (;;) {
        const job = await env.deps.jobs.get("fanout");
        progress(job?.created ?? 0);
        if (job && isFannedOut(job)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      seconds = (performance.now() - started) / 1000;
    } finally {
      await Promise.all(pollers.map((p) => p.stop()));
    }
  });
  const queued = await approximateMessages(env.clients.sqs, env.commandsQueueUrl);
  return {
    seconds,
    count: merge(createCount as RequestCount, count),
    createCount: createCount as RequestCount,
    queued,
  };
}

/** The outer count was cleared by the inner one (createJob's): add it back. */
function merge(inner: RequestCount, outer: RequestCount): RequestCount {
  return {
    reads: inner.reads + outer.reads,
    writes: inner.writes + outer.writes,
    sends: inner.sends + outer.sends,
    other: inner.other + outer.other,
    itemsRead: inner.itemsRead + outer.itemsRead,
    itemsWritten: inner.itemsWritten + outer.itemsWritten,
    calls: [...inner.calls, ...outer.calls],
  };
}

async function approximateMessages(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

interface Publish {
  batches: number;
  executions: number;
  emqxCalls: number;
  writes: number;
}

/** A few publisher batches off the commands queue, their devices connected first (the common case). */
async function samplePublisher(env: JobBench, stack: LocalStack): Promise<Publish> {
  const emqx = new EmqxPublishClient({
    baseUrl: stack.endpoints.emqxApi,
    apiKey: stack.emqxApiKey,
    apiSecret: stack.emqxApiSecret,
    timeoutMs: 5_000,
  });
  const totals: Publish = { batches: 0, executions: 0, emqxCalls: 0, writes: 0 };
  const connected: SimulatedDevice[] = [];
  const publisher: DevicePublisher = {
    publishBulk: (requests) => {
      totals.emqxCalls++;
      return emqx.publishBulk(requests);
    },
  };
  for (let i = 0; i < SAMPLE_BATCHES; i++) {
    const { Messages = [] } = await env.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: env.commandsQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    if (Messages.length === 0) break;
    const batch: QueuedCommand[] = Messages.map((m) => ({
      messageId: m.MessageId ?? "",
      ...(JSON.parse(m.Body ?? "{}") as { sn: string; id: string }),
    }));
    const devices = batch.map((q) => new SimulatedDevice(q.sn, stack.endpoints.mqtt));
    await Promise.all(devices.map((d) => d.connect()));
    const count = await env.counter.count(() => publishCommands({ ...env.deps, publisher }, batch));
    totals.batches++;
    totals.executions += batch.length;
    totals.writes += count.writes;
    await env.clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: env.commandsQueueUrl,
        Entries: Messages.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    connected.push(...devices);
  }
  // Their acks are on their way: give them a moment before the clients go.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await Promise.all(connected.map((d) => d.disconnect().catch(() => undefined)));
  return totals;
}

function report(executions: number, fanout: Fanout, publish: Publish): Area {
  const fanoutWrites = fanout.count.itemsWritten / executions;
  const publishWrites = publish.executions ? publish.writes / publish.executions : 0;
  const perBatch = publish.batches ? publish.emqxCalls / publish.batches : 0;
  const rows: Row[] = [
    {
      figure: `time to all ${executions.toLocaleString("en")} executions queued`,
      value: `${fanout.seconds.toFixed(1)} s`,
    },
    { figure: "executions per second (fan-out)", value: (executions / fanout.seconds).toFixed(0) },
    {
      figure: "POST /v1/jobs itself: DynamoDB writes, SQS sends",
      value: `${fanout.createCount.writes}, ${fanout.createCount.sends}`,
      goal: "independent of N",
      met: fanout.createCount.writes <= 2,
    },
    { figure: "DynamoDB writes per execution, fan-out (items)", value: fanoutWrites.toFixed(3) },
    { figure: "DynamoDB writes per execution, publish (sampled)", value: publishWrites.toFixed(2) },
    {
      figure: "DynamoDB writes per execution until sent",
      value: (fanoutWrites + publishWrites).toFixed(2),
      goal: "≤ 3",
      met: fanoutWrites + publishWrites <= 3,
    },
    { figure: "SQS sends per execution, fan-out", value: (fanout.count.sends / executions).toFixed(3) },
    { figure: "EMQX calls per publisher batch", value: perBatch.toFixed(2), goal: "1", met: perBatch <= 1 },
  ];
  const failures =
    fanout.queued < executions
      ? [`only ${fanout.queued} of ${executions} executions on the commands queue`]
      : [];
  return {
    id: "jobs",
    title: "Job fan-out",
    rows,
    notes: [
      `${executions} devices in one group; ${WORKERS} jobs-worker invocations side by side; slices of 100; the job's checks run meanwhile (counted). ` +
        "After the fan-out, each execution is a command: a device's PUBACK and ack add the commands' own 2 writes (delivered, acked); the job adds none (its counts are read from the byJob index).",
    ],
    failures,
    data: { executions, seconds: fanout.seconds, fanoutWrites, publishWrites, emqxCallsPerBatch: perBatch },
  };
}

/** `npx tsx bench/areas/jobs.ts [--executions N]`: this area alone, on a stack of its own. */
async function standalone(): Promise<void> {
  const at = process.argv.indexOf("--executions");
  const executions = at > 0 ? Number(process.argv[at + 1]) : JOB_EXECUTIONS.full;
  const { startLocalStack } = await import("../../local/stack.ts");
  const { formatArea } = await import("../lib/report.ts");
  const stack = await startLocalStack({ logLevel: "SILENT", log: () => undefined });
  try {
    console.log(formatArea(await jobFanout(stack, executions)));
  } finally {
    await stack.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  standalone().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
