import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { PublisherConfig } from "../adapters/config.ts";
import { EmqxPublishClient } from "../adapters/emqx/publish-client.ts";
import { bootWithoutAws } from "../adapters/lambda-boot-base.ts";
import { lambdaEntry } from "../adapters/lambda-entry.ts";
import { METRICS_SERVICE } from "../adapters/metrics.ts";
import { handleFeedBatch } from "./batch.ts";

// No AWS port: the feed only publishes to EMQX (SQS hands it the batch and takes the failures back).
const { config, logger } = await bootWithoutAws(PublisherConfig, {
  logService: "bridge-feed",
  metricsService: METRICS_SERVICE.publisher,
});
const deps = {
  publisher: new EmqxPublishClient({
    baseUrl: config.EMQX_API_URL,
    apiKey: config.EMQX_API_KEY,
    apiSecret: config.EMQX_API_SECRET,
    timeoutMs: config.EMQX_TIMEOUT_MS,
  }),
};

/**
 * Lambda entry for the feed FIFO queue's event source mapping (with ReportBatchItemFailures); every log
 * line carries the invocation's request id. The feed counts no metric, so there are none to write.
 */
export const handler = lambdaEntry(
  (event: SQSEvent): Promise<SQSBatchResponse> => handleFeedBatch(deps, event, logger),
  { logger },
);
