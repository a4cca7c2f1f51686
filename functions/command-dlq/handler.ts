import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { BaseConfig } from "../adapters/config.ts";
import { bootLambda } from "../adapters/lambda-boot.ts";
import { METRICS_SERVICE } from "../adapters/metrics.ts";
import { handleDeadLetters } from "./batch.ts";

const { logger, metrics, deps } = await bootLambda(BaseConfig, {
  logService: "bridge-command-dlq",
  // Counted as the publisher's: `CommandsByStatus{status=failed}` is where dead-lettered commands show.
  metricsService: METRICS_SERVICE.publisher,
  loadSecrets: false,
});

/** Lambda entry for the commands DLQ's event source mapping (with ReportBatchItemFailures). */
export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  handleDeadLetters(deps, event, logger, metrics);
