import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createAwsDeps } from "../adapters/aws-deps.ts";
import { PublisherConfig, readConfig } from "../adapters/config.ts";
import { EmqxPublishClient } from "../adapters/emqx/publish-client.ts";
import { handleCommandBatch } from "./batch.ts";

const config = readConfig(PublisherConfig, process.env);
const logger = new Logger({ serviceName: "bridge-publisher" });
const deps = {
  ...createAwsDeps(config),
  publisher: new EmqxPublishClient({
    baseUrl: config.EMQX_API_URL,
    apiKey: config.EMQX_API_KEY,
    apiSecret: config.EMQX_API_SECRET,
    timeoutMs: config.EMQX_TIMEOUT_MS,
  }),
};

/** Lambda entry for the commands FIFO queue's event source mapping (with ReportBatchItemFailures). */
export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  handleCommandBatch(deps, event, logger);
