import type { DevicePublisher, PublishItemResult } from "./ports.ts";
import type { PublishDeps } from "./publish-commands.ts";
import type { Candidate, PublishReport } from "./publish-run.ts";
import { REASON_CODE } from "./reason-codes.ts";

/** A call that failed as a whole (EMQX down, 5xx, timeout, 401): its commands are retried for `error`. */
export interface CallFailed {
  callFailed: unknown;
}
export type Outcome = PublishItemResult | CallFailed;

/**
 * One bulk call; when EMQX refuses the whole batch (one bad item does that) it is halved until the bad
 * one is alone. A call that fails outright (EMQX down, 5xx, timeout, 401) marks only its own commands
 * for a retry: what an earlier call of the same split delivered stays recorded, never sent twice.
 */
export async function publishSplittingOnRejection(
  deps: PublishDeps,
  candidates: Candidate[],
  report: PublishReport,
  split: { failed?: CallFailed },
): Promise<Map<Candidate, Outcome>> {
  if (candidates.length === 0) return new Map();
  // Once one call of a split failed outright, the rest wait too: publishing them now would put a
  // device's later commands ahead of the retried earlier ones.
  const failed = split.failed;
  if (failed) return new Map(candidates.map((c) => [c, failed]));
  report.emqxCalls++;
  let answer: Awaited<ReturnType<DevicePublisher["publishBulk"]>>;
  try {
    answer = await deps.publisher.publishBulk(candidates.map((c) => c.request));
  } catch (error) {
    deps.log?.("EMQX publish failed; these commands will be retried", { error, commands: candidates.length });
    split.failed = { callFailed: error };
    return new Map(candidates.map((c) => [c, split.failed as CallFailed]));
  }
  if (!answer.rejected) return new Map(candidates.map((c, i) => [c, answer.results[i] ?? missing()]));
  if (candidates.length === 1) {
    return new Map([[candidates[0] as Candidate, { ok: false, reasonCode: 400, message: answer.message }]]);
  }
  const middle = Math.ceil(candidates.length / 2);
  const first = await publishSplittingOnRejection(deps, candidates.slice(0, middle), report, split);
  const second = await publishSplittingOnRejection(deps, candidates.slice(middle), report, split);
  return new Map([...first, ...second]);
}

const missing = (): PublishItemResult => ({
  ok: false,
  reasonCode: REASON_CODE.failedToDispatch,
  message: "no result for this item",
});
