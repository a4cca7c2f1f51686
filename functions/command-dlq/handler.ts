import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { BaseConfig } from "../adapters/config.ts";
import { bootLambda, lambdaEntry } from "../adapters/lambda-boot.ts";
import { METRICS_SERVICE } from "../adapters/metrics.ts";
import { handleDeadLetters } from "./batch.ts";

const { logger, metrics, deps } = await bootLambda(BaseConfig, {
  logService: "bridge-command-dlq",
  // Counted as the publisher's: `CommandsByStatus{status=failed}` is where dead-lettered commands show.
  metricsService: METRICS_SERVICE.publisher,
  loadSecrets: false,
});

/**
 * Lambda entry for the commands DLQ's event source mapping (with ReportBatchItemFailures); every log line
 * carries the invocation's request id, and the `failed` counts (its command store's) are written even when the batch throws.
 */
export const handler = lambdaEntry(
  (event: SQSEvent): Promise<SQSBatchResponse> => handleDeadLetters(deps, event, logger),
  { logger, metrics },
);
