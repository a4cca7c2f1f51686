import { handle } from "hono/aws-lambda";
import { IngestConfig } from "../adapters/config.ts";
import { bootLambda } from "../adapters/lambda-boot.ts";
import { METRICS_SERVICE } from "../adapters/metrics.ts";
import { createIngestApp } from "./app.ts";

const { config, logger, metrics, deps } = await bootLambda(IngestConfig, {
  logService: "bridge-ingest",
  metricsService: METRICS_SERVICE.ingest,
});

/** Lambda entry (Function URL / API Gateway v2): the same app `npm start` serves locally. */
export const handler = handle(
  createIngestApp(deps, {
    tokens: config.INGEST_TOKENS,
    deadlineMs: config.INGEST_DEADLINE_MS,
    maxBodyBytes: config.MAX_BODY_BYTES,
    deviceTokenSecrets: config.DEVICE_TOKEN_SECRETS,
    registration: config.DEVICE_REGISTRATION,
    sessionLifetimeSeconds: config.BROKER_SESSION_LIFETIME_S,
    logger,
    metrics,
  }),
);
