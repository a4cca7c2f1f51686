import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { EmqxConfigurationError } from "../core/commands/errors.ts";
import { type FeedDeps, publishFeed } from "../core/feed/publish-feed.ts";

/**
 * The feed publisher: one SQS batch from the feed FIFO queue (raw copies of the events) → one EMQX bulk
 * publish on `fleet/v1/{sn}/{type}`. Answers with a partial batch failure report, so only the messages
 * to retry (and their devices' later ones) come back.
 */
export async function handleFeedBatch(
  deps: Omit<FeedDeps, "log">,
  event: SQSEvent,
  logger: Logger,
): Promise<SQSBatchResponse> {
  const items = event.Records.map((record) => ({ messageId: record.messageId, body: record.body }));
  const report = await publishFeed(
    { ...deps, log: (message, fields) => log(logger, message, fields) },
    items,
  );
  logger.debug("published feed batch", { messages: items.length, ...report, failed: report.failed.length });
  return { batchItemFailures: report.failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

function log(logger: Logger, message: string, fields: Record<string, unknown>): void {
  const { error, ...rest } = fields;
  if (error instanceof EmqxConfigurationError) {
    logger.error(`CONFIGURATION ERROR: ${error.message}`, rest);
    return;
  }
  const detail = error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) };
  logger.warn(message, { ...rest, ...detail });
}
