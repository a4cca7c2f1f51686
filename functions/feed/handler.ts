import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { PublisherConfig } from "../adapters/config.ts";
import { EmqxPublishClient } from "../adapters/emqx/publish-client.ts";
import { bootLambda } from "../adapters/lambda-boot.ts";
import { METRICS_SERVICE } from "../adapters/metrics.ts";
import { handleFeedBatch } from "./batch.ts";

const { config, logger } = await bootLambda(PublisherConfig, {
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

/** Lambda entry for the feed FIFO queue's event source mapping (with ReportBatchItemFailures). */
export const handler = (event: SQSEvent): Promise<SQSBatchResponse> => handleFeedBatch(deps, event, logger);
