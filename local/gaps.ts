import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDbGapStore } from "../functions/adapters/dynamodb/gap-store.ts";
import type { CreateCommandDeps } from "../functions/core/commands/create-command.ts";
import { DEFAULT_GAP_CONFIG } from "../functions/core/gaps/config.ts";
import { type GapRunStats, noGapRunStats, runGapTracker } from "../functions/core/gaps/run.ts";
import type { GapConfig } from "../functions/core/gaps/types.ts";
import { SqsDeviceReports } from "../functions/gaps/report-queue.ts";
import { gapRunDeps } from "../functions/gaps/wire.ts";

export interface LocalGapTrackerOptions {
  /** How often a pass runs (the EventBridge schedule's rate on AWS: 5 minutes); default 60 s. */
  intervalMs?: number;
  /** Overrides of the production values (tests compress the grace period and backoff). */
  config?: Partial<GapConfig>;
}

export interface LocalGapTracker {
  reports: SqsDeviceReports;
  store: DynamoDbGapStore;
  /** One pass now (after the one running, if any). */
  runOnce(): Promise<GapRunStats>;
  /** Every pass's figures so far, summed. */
  totals: GapRunStats;
  stop(): Promise<void>;
}

/** The gap tracker as AWS runs it (functions/gaps/handler.ts on a schedule), on a timer. */
export async function startGapTracker(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  deps: CreateCommandDeps,
  names: { tableName: string; queueName: string },
  options: LocalGapTrackerOptions = {},
): Promise<LocalGapTracker> {
  const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: names.queueName }));
  const reports = new SqsDeviceReports(clients.sqs, QueueUrl ?? "");
  const store = new DynamoDbGapStore(clients.dynamodb, names.tableName);
  const run = gapRunDeps(deps, store, reports, { ...DEFAULT_GAP_CONFIG, ...options.config });
  const totals = noGapRunStats();
  let running: Promise<GapRunStats> = Promise.resolve(totals);
  const runOnce = () => {
    running = running
      .catch(() => totals)
      .then(() => runGapTracker(run))
      .then((stats) => add(totals, stats));
    return running;
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    timer = setTimeout(() => {
      void runOnce()
        .catch((error) => console.warn("gap tracker pass failed", error))
        .finally(() => stopped || tick());
    }, options.intervalMs ?? 60_000);
  };
  tick();
  return {
    reports,
    store,
    runOnce,
    totals,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}

function add(totals: GapRunStats, stats: GapRunStats): GapRunStats {
  for (const key of [
    "devices",
    "trackerWrites",
    "events",
    "commands",
    "suspects",
    "reports",
    "failed",
  ] as const)
    totals[key] += stats[key];
  for (const field of ["byType", "writesFor", "commandsByOp"] as const)
    for (const [name, n] of Object.entries(stats[field]))
      totals[field][name] = (totals[field][name] ?? 0) + n;
  return stats;
}
