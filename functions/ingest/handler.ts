import { handle } from "hono/aws-lambda";
import { IngestConfig } from "../adapters/config.ts";
import { bootLambda, lambdaEntry } from "../adapters/lambda-boot.ts";
import { METRICS_SERVICE } from "../adapters/metrics.ts";
import { SqsDeviceReportSink } from "../gaps/report-sink.ts";
import { createIngestApp } from "./app.ts";

const { config, logger, metrics, deps, clients } = await bootLambda(IngestConfig, {
  logService: "bridge-ingest",
  metricsService: METRICS_SERVICE.ingest,
});

// Heartbeat reports for the gap tracker, when the stack has one (GAPS_QUEUE_URL), on the ports' SQS client.
const reports = config.GAPS_QUEUE_URL
  ? new SqsDeviceReportSink(clients.sqs, config.GAPS_QUEUE_URL)
  : undefined;

/**
 * Lambda entry (Function URL / API Gateway v2): the same app `npm start` serves locally. Every log line
 * carries the request id; the app writes its metrics itself, once per request (also off Lambda).
 */
export const handler = lambdaEntry(
  handle(
    createIngestApp(reports ? { ...deps, reports } : deps, {
      tokens: config.INGEST_TOKENS,
      deadlineMs: config.INGEST_DEADLINE_MS,
      maxBodyBytes: config.MAX_BODY_BYTES,
      deviceTokenSecrets: config.DEVICE_TOKEN_SECRETS,
      registration: config.DEVICE_REGISTRATION,
      sessionLifetimeSeconds: config.BROKER_SESSION_LIFETIME_S,
      logger,
      metrics,
    }),
  ),
  { logger },
);
