import { Logger } from "@aws-lambda-powertools/logger";
import { handle } from "hono/aws-lambda";
import { createAwsDeps } from "../adapters/aws-deps.ts";
import { IngestConfig, readConfig } from "../adapters/config.ts";
import { countingCommandStore } from "../adapters/counting-command-store.ts";
import { installLazySourceMaps } from "../adapters/lazy-source-maps.ts";
import { createMetrics, METRICS_SERVICE } from "../adapters/metrics.ts";
import { loadSecretsIntoEnv } from "../adapters/secrets.ts";
import { createIngestApp } from "./app.ts";

// Errors printed with their TypeScript lines; the source map is read only then (not at init).
installLazySourceMaps();

// Cold start: every NAME_SECRET_ARN secret becomes NAME before the config is read (once per environment).
await loadSecretsIntoEnv();
const config = readConfig(IngestConfig, process.env);
const logger = new Logger({ serviceName: "bridge-ingest" });
const metrics = createMetrics(METRICS_SERVICE.ingest);
const aws = createAwsDeps(config);

/** Lambda entry (Function URL / API Gateway v2): the same app `npm start` serves locally. */
export const handler = handle(
  createIngestApp(
    { ...aws, commands: countingCommandStore(aws.commands, metrics) },
    {
      tokens: config.INGEST_TOKENS,
      deadlineMs: config.INGEST_DEADLINE_MS,
      maxBodyBytes: config.MAX_BODY_BYTES,
      deviceTokenSecrets: config.DEVICE_TOKEN_SECRETS,
      registration: config.DEVICE_REGISTRATION,
      sessionLifetimeSeconds: config.BROKER_SESSION_LIFETIME_S,
      logger,
      metrics,
    },
  ),
);
