import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import * as v from "valibot";
import { createAwsDeps } from "../adapters/aws-deps.ts";
import { BaseConfig, readConfig } from "../adapters/config.ts";
import { createDynamoDbClient } from "../adapters/dynamodb/client.ts";
import { DynamoDbGapStore } from "../adapters/dynamodb/gap-store.ts";
import { lambdaEntry } from "../adapters/lambda-entry.ts";
import { installLazySourceMaps } from "../adapters/lazy-source-maps.ts";
import { METRICS_NAMESPACE } from "../adapters/metrics.ts";
import { createSqsClient } from "../adapters/sqs/client.ts";
import { DEFAULT_GAP_CONFIG } from "../core/gaps/config.ts";
import { runGapTracker } from "../core/gaps/run.ts";
import { SqsDeviceReports } from "./report-queue.ts";
import { gapRunDeps } from "./wire.ts";

/** The tracker's settings: the base ones, its reports queue, and whether drifting clocks are set. */
const GapSettings = v.object({
  ...BaseConfig.entries,
  GAPS_QUEUE_URL: v.optional(v.pipe(v.string(), v.url())),
  /** `false`: a drifting clock is announced (`clock_drift`) but not set. */
  GAP_SET_TIME: v.optional(v.picklist(["true", "false"]), "true"),
});

installLazySourceMaps();
const config = readConfig(GapSettings, process.env);
const logger = new Logger({ serviceName: "bridge-gaps" });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "bridge-gaps" });
const aws = createAwsDeps(config);
const dynamodb = createDynamoDbClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT });
const store = new DynamoDbGapStore(dynamodb, config.TABLE_NAME);
const reports = config.GAPS_QUEUE_URL
  ? new SqsDeviceReports(
      createSqsClient({ region: config.AWS_REGION, endpoint: config.SQS_ENDPOINT }),
      config.GAPS_QUEUE_URL,
    )
  : undefined;
const deps = gapRunDeps(aws, store, reports, {
  ...DEFAULT_GAP_CONFIG,
  setTime: config.GAP_SET_TIME === "true",
});

/**
 * Lambda entry for the EventBridge schedule: one pass over the fleet. Every log line carries the
 * invocation's request id; the pass's counts are written when it ends (a pass that throws counted nothing).
 */
export const handler = lambdaEntry(
  async (): Promise<void> => {
    const stats = await runGapTracker(deps);
    for (const [name, value] of Object.entries(stats.byType))
      metrics.addMetric(name, MetricUnit.Count, value);
    metrics.addMetric("GapTrackerWrites", MetricUnit.Count, stats.trackerWrites);
    logger.info("gap tracker pass", { ...stats });
  },
  { logger, metrics: { flush: () => metrics.hasStoredMetrics() && metrics.publishStoredMetrics() } },
);
