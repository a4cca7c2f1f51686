import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createAwsDeps } from "../adapters/aws-deps.ts";
import { readConfig } from "../adapters/config.ts";
import { countingCommandStore } from "../adapters/counting-command-store.ts";
import { EmqxPublishClient } from "../adapters/emqx/publish-client.ts";
import { installLazySourceMaps } from "../adapters/lazy-source-maps.ts";
import { createMetrics, METRICS_SERVICE } from "../adapters/metrics.ts";
import { loadSecretsIntoEnv } from "../adapters/secrets.ts";
import { handleCommandBatch } from "./batch.ts";
import { PublisherSettings } from "./config.ts";

// Errors printed with their TypeScript lines; the source map is read only then (not at init).
installLazySourceMaps();

// Cold start: every NAME_SECRET_ARN secret becomes NAME before the config is read (once per environment).
await loadSecretsIntoEnv();
const config = readConfig(PublisherSettings, process.env);
const logger = new Logger({ serviceName: "bridge-publisher" });
const metrics = createMetrics(METRICS_SERVICE.publisher);
const aws = createAwsDeps(config);
const deps = {
  ...aws,
  commands: countingCommandStore(aws.commands, metrics),
  publisher: new EmqxPublishClient({
    baseUrl: config.EMQX_API_URL,
    apiKey: config.EMQX_API_KEY,
    apiSecret: config.EMQX_API_SECRET,
    timeoutMs: config.EMQX_TIMEOUT_MS,
  }),
  recycle: { queue: aws.queue, afterReceives: config.RECYCLE_AFTER_RECEIVES },
};

/** Lambda entry for the commands FIFO queue's event source mapping (with ReportBatchItemFailures). */
export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  handleCommandBatch(deps, event, logger, metrics);
