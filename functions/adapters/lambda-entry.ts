import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import type { BridgeMetrics } from "../core/metrics.ts";

/**
 * A Lambda entry whose log lines all carry the invocation (`function_request_id`, `cold_start`, the
 * function's name and version: Powertools' `addContext`) and whose metrics are written when it ends,
 * answered or thrown, so a failed invocation's counts are not lost or carried into the next one.
 * A module of its own, importing no AWS client, so that every function's bundle can use it (the feed's
 * holds no DynamoDB, SQS or SNS client).
 *
 * @example
 * export const handler = lambdaEntry(handle(app), { logger, metrics });
 */
export function lambdaEntry<E, R>(
  entry: (event: E, context: Context) => Promise<R>,
  { logger, metrics }: { logger: Logger; metrics?: Pick<BridgeMetrics, "flush"> },
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
