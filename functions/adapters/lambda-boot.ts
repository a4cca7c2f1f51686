import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import type * as v from "valibot";
import type { BridgeMetrics } from "../core/metrics.ts";
import { awsClients, createAwsDeps } from "./aws-deps.ts";
import type { BaseConfig } from "./config.ts";
import { countingCommandStore } from "./counting-command-store.ts";
import { bootWithoutAws, type LambdaBootOptions } from "./lambda-boot-base.ts";

export type { LambdaBootOptions } from "./lambda-boot-base.ts";

/**
 * The cold start every Lambda entry shares, in the order it must happen: stack traces mapped first,
 * then the secrets into the environment, then the config read from it, then the logger, the metrics
 * (functions/adapters/lambda-boot-base.ts) and every AWS port, the command store counting status changes.
 * The SDK clients are returned too, so a port the entry adds shares them instead of making another.
 */
export async function bootLambda<S extends v.GenericSchema<unknown, BaseConfig>>(
  schema: S,
  options: LambdaBootOptions,
) {
  const { config, logger, metrics } = await bootWithoutAws(schema, options);
  const clients = awsClients(config);
  const aws = createAwsDeps(config, clients);
  const deps = { ...aws, commands: countingCommandStore(aws.commands, metrics) };
  return { config, logger, metrics, deps, clients };
}

/**
 * A Lambda entry whose log lines all carry the invocation (`function_request_id`, `cold_start`, the
 * function's name and version: Powertools' `addContext`) and whose metrics are written when it ends,
 * answered or thrown, so a failed invocation's counts are not lost or carried into the next one.
 *
 * @example
 * export const handler = lambdaEntry(handle(app), { logger, metrics });
 */
export function lambdaEntry<E, R>(
  entry: (event: E, context: Context) => Promise<R>,
  { logger, metrics }: { logger: Logger; metrics?: BridgeMetrics },
): (event: E, context: Context) => Promise<R> {
  return async (event, context) => {
    logger.addContext(context);
    try {
      return await entry(event, context);
    } finally {
      metrics?.flush();
    }
  };
}
