import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { awsClients } from "../adapters/aws-deps.ts";
import { createJobPorts } from "../adapters/job-deps.ts";
import { bootLambda } from "../adapters/lambda-boot.ts";
import { METRICS_SERVICE } from "../adapters/metrics.ts";
import { handleJobBatch } from "./batch.ts";
import { JobsSettings } from "./config.ts";

// Counted under the publisher's service: like it, the worker moves command statuses.
const {
  config,
  logger,
  deps: aws,
} = await bootLambda(JobsSettings, {
  logService: "bridge-jobs",
  metricsService: METRICS_SERVICE.publisher,
});
const deps = {
  ...aws,
  ...createJobPorts(config, awsClients(config)),
  checkSeconds: config.JOB_CHECK_SECONDS,
};

/** Lambda entry for the jobs queue's event source mapping (with ReportBatchItemFailures). */
export const handler = (event: SQSEvent): Promise<SQSBatchResponse> => handleJobBatch(deps, event, logger);
