import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { parseCommandPointer } from "../adapters/sqs/command-queue.ts";
import { EmqxConfigurationError } from "../core/commands/errors.ts";
import { type PublishDeps, publishCommands, type QueuedCommand } from "../core/commands/publish-commands.ts";
import { type BridgeMetrics, METRIC, noopMetrics, PUBLISH_RESULT } from "../core/metrics.ts";

/**
 * The publisher: one SQS batch from the commands FIFO queue → one EMQX bulk publish. Answers with a
 * partial batch failure report (`ReportBatchItemFailures`), so only the messages to retry come back,
 * and a device's later commands come back with them, in order.
 */
export async function handleCommandBatch(
  deps: Omit<PublishDeps, "log">,
  event: SQSEvent,
  logger: Logger,
  metrics: BridgeMetrics = noopMetrics,
): Promise<SQSBatchResponse> {
  const queued = event.Records.flatMap((record) => toQueued(record, logger));
  const report = await publishCommands(
    { ...deps, log: (message, fields) => logFailure(logger, message, fields) },
    queued,
  );
  logger.debug("published command batch", {
    messages: event.Records.length,
    emqxCalls: report.emqxCalls,
    retried: report.failed.length,
    outcomes: report.outcomes,
  });
  for (const outcome of Object.values(report.outcomes)) {
    if (outcome in PUBLISH_RESULT) metrics.count(METRIC.EmqxPublishResults, 1, { result: outcome });
  }
  return { batchItemFailures: report.failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

function toQueued(record: SQSRecord, logger: Logger): QueuedCommand[] {
  const pointer = parseCommandPointer(record.body);
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount) || 1;
  if (pointer) return [{ messageId: record.messageId, receiveCount, ...pointer }];
  // Only the bridge writes this queue; a message it could not have written is dropped, not retried forever.
  logger.error("dropping a commands-queue message that is not {sn, id}", { messageId: record.messageId });
  return [];
}

function logFailure(logger: Logger, message: string, fields: { error: unknown } & Record<string, unknown>) {
  const { error, ...rest } = fields;
  if (error instanceof EmqxConfigurationError) {
    logger.error(`CONFIGURATION ERROR: ${error.message}`, rest);
    return;
  }
  logger.warn(message, { ...rest, error: error instanceof Error ? error.message : String(error) });
}
