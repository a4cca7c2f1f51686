import { TransientError } from "../errors.ts";
import type { Outcome } from "./publish-bulk.ts";
import type { BatchRun, Candidate } from "./publish-run.ts";
import { REASON_CODE } from "./reason-codes.ts";
import type { TransitionFields } from "./types.ts";

/** EMQX reason codes that mean "try again later", not "this command is wrong". */
const RETRYABLE_REASON_CODES = new Set<number>([REASON_CODE.failedToDispatch]);

type Verdict = { retry: unknown } | { to: "sent" | "pending" | "failed"; fields: TransitionFields };

/**
 * Turns EMQX's answer for one command into its status change (or a retry). Everything EMQX took is
 * recorded as such, even after a failed one of the same device: retrying a published command would
 * deliver it twice.
 */
export function settle(run: BatchRun, candidate: Candidate, result: Outcome | undefined): void {
  const { command, queued } = candidate;
  const verdict = verdictOf(result);
  if ("retry" in verdict) {
    run.retry(queued, verdict.retry);
    return;
  }
  run.move(queued, command, verdict.to, verdict.fields);
  run.outcome(queued, verdict.to);
}

function verdictOf(result: Outcome | undefined): Verdict {
  if (!result) return { retry: new Error("no publish result") };
  if ("callFailed" in result) return { retry: result.callFailed };
  if (result.ok) return { to: "sent", fields: { messageId: result.messageId } };
  if (result.reasonCode === REASON_CODE.noMatchingSubscribers)
    return { to: "pending", fields: { reason: "no_matching_subscribers: kept until the device is online" } };
  // failed_to_dispatch: EMQX could not route it just now (a node restarting), an outage, not a bad command.
  if (RETRYABLE_REASON_CODES.has(result.reasonCode))
    return { retry: new TransientError(`EMQX could not dispatch: ${result.message}`) };
  return { to: "failed", fields: { reason: `EMQX refused it: ${result.message}` } };
}
