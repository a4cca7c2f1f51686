import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import * as v from "valibot";
import { type CheckDeps, cancelJobExecutions, checkJob } from "../core/jobs/check.ts";
import { type FanoutDeps, runSlice } from "../core/jobs/fan-out.ts";
import type { JobMessage } from "../core/jobs/types.ts";

export type JobWorkerDeps = FanoutDeps & CheckDeps;

const JobId = v.pipe(v.string(), v.minLength(1));
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const JobMessageSchema = v.variant("kind", [
  v.object({
    kind: v.literal("fanout"),
    jobId: JobId,
    slice: Count,
    cursor: v.optional(v.string()),
    dueAt: v.number(),
  }),
  v.object({ kind: v.literal("check"), jobId: JobId, seq: Count, idle: Count }),
  v.object({ kind: v.literal("cancel"), jobId: JobId }),
]);

/**
 * The jobs worker: each message of a batch is one fan-out slice, one check or one cancel, handled side
 * by side; a failed one comes back alone (`ReportBatchItemFailures`), and every step is safe to repeat.
 */
export async function handleJobBatch(
  deps: JobWorkerDeps,
  event: SQSEvent,
  logger: Logger,
): Promise<SQSBatchResponse> {
  const results = await Promise.allSettled(event.Records.map((record) => handleRecord(deps, record, logger)));
  const failed = event.Records.filter((_, i) => results[i]?.status === "rejected");
  results.forEach((result, i) => {
    if (result.status === "rejected")
      logger.warn("job message failed; it comes back", {
        messageId: event.Records[i]?.messageId,
        error: String(result.reason),
      });
  });
  return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
}

async function handleRecord(deps: JobWorkerDeps, record: SQSRecord, logger: Logger): Promise<void> {
  const message = parseJobMessage(record.body);
  if (!message) {
    // Only the bridge writes this queue; a body it could not have written is dropped, not retried forever.
    logger.error("dropping a jobs-queue message that is not a job message", { messageId: record.messageId });
    return;
  }
  if (message.kind === "fanout") {
    const outcome = await runSlice(deps, message);
    logger.debug("job slice", { jobId: message.jobId, slice: message.slice, outcome });
  } else if (message.kind === "check") await checkJob(deps, message);
  else await cancelJobExecutions(deps, message.jobId);
}

export function parseJobMessage(body: string): JobMessage | undefined {
  try {
    const result = v.safeParse(JobMessageSchema, JSON.parse(body));
    return result.success ? (result.output as JobMessage) : undefined;
  } catch {
    return undefined;
  }
}
