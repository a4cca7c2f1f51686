import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createJobPorts } from "../adapters/job-deps.ts";
import { bootLambda, lambdaEntry } from "../adapters/lambda-boot.ts";
import { METRICS_SERVICE } from "../adapters/metrics.ts";
import { handleJobBatch } from "./batch.ts";
import { JobsSettings } from "./config.ts";

// Counted under the publisher's service: like it, the worker moves command statuses.
const BOOT = { logService: "bridge-jobs", metricsService: METRICS_SERVICE.publisher } as const;
const { config, logger, metrics, deps: aws, clients } = await bootLambda(JobsSettings, BOOT);
// The job ports on the clients the boot made for the other ports.
const deps = { ...aws, ...createJobPorts(config, clients), checkSeconds: config.JOB_CHECK_SECONDS };

/**
 * Lambda entry for the jobs queue's event source mapping (with ReportBatchItemFailures); every log line
 * carries the invocation's request id, and the command statuses the executions reach
 * (`CommandsByStatus`, counted by the boot's command store) are written when the batch ends.
 */
export const handler = lambdaEntry(
  (event: SQSEvent): Promise<SQSBatchResponse> => handleJobBatch(deps, event, logger),
  { logger, metrics },
);
