import { announceJob } from "./announce.ts";
import type { JobDeps } from "./create-job.ts";
import type { Job } from "./types.ts";

/**
 * Stops an in-progress job: no more slices create executions, and the jobs worker cancels the ones not
 * sent yet (`expired`, reason `canceled: ...`); those already sent run to their end. A job that is
 * already over is answered as it is. `undefined` when there is no such job.
 */
export async function cancelJob(
  deps: JobDeps,
  id: string,
  reason = "canceled by request",
): Promise<Job | undefined> {
  const job = await deps.jobs.get(id);
  if (job?.status !== "in_progress") return job;
  const canceled = await deps.jobs.finish(id, "canceled", deps.clock.now().toISOString(), reason);
  if (!canceled) return deps.jobs.get(id);
  await announceJob(deps, canceled);
  // The job's checks cancel them too, should this send be lost to a crash.
  await deps.jobQueue.send({ kind: "cancel", jobId: id });
  return { ...canceled, announcedStatus: canceled.status };
}
