import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { EmqxPublishClient } from "../adapters/emqx/publish-client.ts";
import { bootLambda, lambdaEntry } from "../adapters/lambda-boot.ts";
import { METRICS_SERVICE } from "../adapters/metrics.ts";
import { handleCommandBatch } from "./batch.ts";
import { PublisherSettings } from "./config.ts";

const BOOT = { logService: "bridge-publisher", metricsService: METRICS_SERVICE.publisher } as const;
const { config, logger, metrics, deps: aws } = await bootLambda(PublisherSettings, BOOT);
const deps = {
  ...aws,
  publisher: new EmqxPublishClient({
    baseUrl: config.EMQX_API_URL,
    apiKey: config.EMQX_API_KEY,
    apiSecret: config.EMQX_API_SECRET,
    timeoutMs: config.EMQX_TIMEOUT_MS,
  }),
  recycle: { queue: aws.queue, afterReceives: config.RECYCLE_AFTER_RECEIVES },
};

/**
 * Lambda entry for the commands FIFO queue's event source mapping (with ReportBatchItemFailures); every
 * log line carries the invocation's request id, and the metrics are written even when the batch throws.
 */
export const handler = lambdaEntry(
  (event: SQSEvent): Promise<SQSBatchResponse> => handleCommandBatch(deps, event, logger, metrics),
  { logger, metrics },
);
