import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { readConfig } from "../adapters/config.ts";
import { lambdaEntry } from "../adapters/lambda-entry.ts";
import { installLazySourceMaps } from "../adapters/lazy-source-maps.ts";
import { createWebhookDeps } from "../adapters/webhooks/deps.ts";
import { handleWebhookBatch } from "./batch.ts";
import { WebhookSenderConfig } from "./config.ts";

installLazySourceMaps();
const config = readConfig(WebhookSenderConfig, process.env);
const logger = new Logger({ serviceName: "bridge-webhooks" });
const deps = createWebhookDeps(config);

/**
 * Lambda entry for the webhooks FIFO queue and the delivery (retry) queue (ReportBatchItemFailures);
 * every log line carries the invocation's request id. The sender counts no metric.
 */
export const handler = lambdaEntry(
  (event: SQSEvent): Promise<SQSBatchResponse> => handleWebhookBatch(deps, event, logger),
  { logger },
);
