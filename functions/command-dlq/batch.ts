import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { parseCommandPointer } from "../adapters/sqs/command-queue.ts";
import { type DeadLetterDeps, failDeadLettered } from "../core/commands/fail-dead-lettered.ts";

/**
 * The commands DLQ consumer: every dead-lettered command that is still waiting becomes `failed` with
 * the reason (and is announced). A message that cannot be handled now (DynamoDB or SQS down) is
 * reported for a retry and stays in the DLQ until it can; docs/deploy.md "Redriving the commands DLQ".
 */
export async function handleDeadLetters(
  deps: DeadLetterDeps,
  event: SQSEvent,
  logger: Logger,
): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  for (const record of event.Records) {
    if (!(await handleOne(deps, record, logger))) failures.push(record.messageId);
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

/** False when the message must stay for a retry. */
async function handleOne(deps: DeadLetterDeps, record: SQSRecord, logger: Logger): Promise<boolean> {
  const pointer = parseCommandPointer(record.body);
  if (!pointer) {
    logger.error("dropping a commands-DLQ message that is not {sn, id}", { messageId: record.messageId });
    return true;
  }
  try {
    const outcome = await failDeadLettered(deps, pointer);
    // Error level: a dead-lettered command is something an operator should look at.
    logger.error("a command's queue message reached the DLQ", { ...pointer, outcome });
    return true;
  } catch (error) {
    logger.warn("could not handle a dead-lettered command; will retry", {
      ...pointer,
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
}
