import { Logger } from "@aws-lambda-powertools/logger";
import type * as v from "valibot";
import type { MetricsService } from "../core/metrics.ts";
import { readConfig } from "./config.ts";
import { installLazySourceMaps } from "./lazy-source-maps.ts";
import { createMetrics } from "./metrics.ts";
import { loadSecretsIntoEnv } from "./secrets.ts";

export interface LambdaBootOptions {
  /** The Powertools `serviceName` on every log line, e.g. `bridge-ingest`. */
  logService: string;
  /** The `service` dimension the function's metrics count under. */
  metricsService: MetricsService;
  /** Whether `NAME_SECRET_ARN` variables are resolved before the config is read (default true). */
  loadSecrets?: boolean;
}

/**
 * A Lambda's cold start up to its AWS ports (functions/adapters/lambda-boot.ts adds them): stack traces
 * mapped first, then the secrets into the environment, then the config read from it, the logger and the
 * metrics. A module of its own so that a function sending no AWS request itself (the feed publishes to
 * EMQX only) boots with it and its bundle holds no DynamoDB, SQS or SNS client.
 */
export async function bootWithoutAws<S extends v.GenericSchema>(schema: S, options: LambdaBootOptions) {
  // Errors printed with their TypeScript lines; the source map is read only then (not at init).
  installLazySourceMaps();
  // Every NAME_SECRET_ARN secret becomes NAME before the config is read (once per environment).
  if (options.loadSecrets ?? true) await loadSecretsIntoEnv();
  const config: v.InferOutput<S> = readConfig(schema, process.env);
  const logger = new Logger({ serviceName: options.logService });
  const metrics = createMetrics(options.metricsService);
  return { config, logger, metrics };
}
