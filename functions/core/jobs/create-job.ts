import { randomUUID } from "node:crypto";
import { canonicalJson } from "../canonical-json.ts";
import { stableEventId } from "../event-id.ts";
import type { Clock, EventQueue } from "../ports.ts";
import type { JobRequest } from "../schemas/jobs.ts";
import { jobStatusMessage } from "./announce.ts";
import type { JobQueue, JobStore } from "./ports.ts";
import type { Job } from "./types.ts";

export interface JobDeps {
  jobs: JobStore;
  jobQueue: JobQueue;
  events: EventQueue;
  clock: Clock;
}

/** The same job id was used with a different body. */
export class JobConflictError extends Error {
  override readonly name = "JobConflictError";
  constructor(readonly id: string) {
    super(`job '${id}' exists with a different body`);
  }
}

/**
 * Stores a job and puts its first fan-out slice on the jobs queue: one write and two sends, whatever
 * the number of devices (the worker creates the executions). Idempotent on `id`: the same body returns
 * the stored job (finishing a start a crash cut short), another body is a {@link JobConflictError}.
 */
export async function createJob(deps: JobDeps, request: JobRequest): Promise<{ job: Job; created: boolean }> {
  const now = deps.clock.now();
  const candidate = newJob(request, now);
  const result = await deps.jobs.create(candidate);
  const job = result.created ? candidate : result.existing;
  if (!result.created && job.requestHash !== candidate.requestHash) throw new JobConflictError(job.id);
  if (job.startedAt) return { job, created: result.created };
  // Announced before its executions exist, so consumers see the job before its commands.
  if (job.announcedStatus !== job.status) await deps.events.send([jobStatusMessage(job)]);
  await deps.jobQueue.send({ kind: "fanout", jobId: job.id, slice: 0, dueAt: Date.parse(job.createdAt) });
  await deps.jobs.markStarted(job.id, now.toISOString());
  return {
    job: { ...job, startedAt: now.toISOString(), announcedStatus: job.status },
    created: result.created,
  };
}

function newJob(request: JobRequest, now: Date): Job {
  const { id, ...body } = request;
  const at = now.toISOString();
  return {
    id: id ?? randomUUID(),
    op: request.op,
    data: request.data ?? {},
    targets: request.targets,
    ...(request.rollout ? { rollout: request.rollout } : {}),
    ...(request.ttlSeconds ? { ttlSeconds: request.ttlSeconds } : {}),
    ...(request.abort ? { abort: request.abort } : {}),
    status: "in_progress",
    createdAt: at,
    updatedAt: at,
    requestHash: stableEventId("job", canonicalJson(body)),
    ...(request.targets.sns ? { total: request.targets.sns.length } : {}),
    created: 0,
    slicesDone: 0,
    counts: {},
    checkSeq: 0,
  };
}
