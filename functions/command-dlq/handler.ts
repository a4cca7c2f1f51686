import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createAwsDeps } from "../adapters/aws-deps.ts";
import { BaseConfig, readConfig } from "../adapters/config.ts";
import { countingCommandStore } from "../adapters/counting-command-store.ts";
import { installLazySourceMaps } from "../adapters/lazy-source-maps.ts";
import { createMetrics, METRICS_SERVICE } from "../adapters/metrics.ts";
import { handleDeadLetters } from "./batch.ts";

// Errors printed with their TypeScript lines; the source map is read only then (not at init).
installLazySourceMaps();

const config = readConfig(BaseConfig, process.env);
const logger = new Logger({ serviceName: "bridge-command-dlq" });
// Counted as the publisher's: `CommandsByStatus{status=failed}` is where dead-lettered commands show.
const metrics = createMetrics(METRICS_SERVICE.publisher);
const aws = createAwsDeps(config);
const deps = { ...aws, commands: countingCommandStore(aws.commands, metrics) };

/** Lambda entry for the commands DLQ's event source mapping (with ReportBatchItemFailures). */
export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  handleDeadLetters(deps, event, logger, metrics);
