import type { CommandStore } from "../commands/ports.ts";
import type { Clock, EventQueue } from "../ports.ts";
import { announceJob } from "./announce.ts";
import {
  canceledReason,
  countStates,
  expireUnsent,
  isOpen,
  isUnsent,
  MAX_MOVES_PER_CHECK,
} from "./executions.ts";
import type { JobQueue, JobStore } from "./ports.ts";
import { checkDelay, SLICE_RUN_LIMIT_MS } from "./rollout.ts";
import type { ExecutionCounts, ExecutionState, Job, JobMessage } from "./types.ts";

export interface CheckDeps {
  jobs: JobStore;
  jobQueue: JobQueue;
  commands: CommandStore;
  events: EventQueue;
  clock: Clock;
  checkSeconds: number;
}

type CheckMessage = Extract<JobMessage, { kind: "check" }>;

/**
 * A job's periodic check, the one place its status follows its executions: it reads every execution's
 * status from the job index (reads only: the command pipeline writes nothing extra for jobs), expires
 * unsent ones whose TTL passed, applies the abort rule, completes the job once every execution is
 * final, cancels the unsent executions of a stopped job, and saves the counts on the job. It checks
 * again later (backing off while nothing changes) until nothing can change any more.
 */
export async function checkJob(deps: CheckDeps, message: CheckMessage): Promise<void> {
  const found = await deps.jobs.get(message.jobId);
  if (!found) return;
  const now = deps.clock.now();
  let states = await deps.jobs.states(found.id);
  states = await expireOverdue(deps, states, now);
  const job = await decide(deps, found, countStates(states), now.toISOString());
  if (job.status === "canceled" || job.status === "aborted") states = await cancelUnsent(deps, job, states);
  const counts = countStates(states);
  await announceJob(deps, job);
  const settled = isSettled(job, states, now.getTime());
  // Settled means at least `job.created` executions: a dead slice's are counted here.
  const settle = settled ? { created: states.length } : undefined;
  if (!(await deps.jobs.saveCounts(job.id, counts, now.toISOString(), message.seq, settle))) return;
  if (settled) return;
  const idle = sameCounts(counts, found.counts) ? message.idle + 1 : 0;
  const next = { ...message, seq: message.seq + 1, idle };
  await deps.jobQueue.send(next, checkDelay(deps.checkSeconds, idle));
}

/** `POST /v1/jobs/{id}/cancel`'s follow-up on the jobs queue: the executions not sent yet are canceled. */
export async function cancelJobExecutions(deps: CheckDeps, jobId: string): Promise<void> {
  const job = await deps.jobs.get(jobId);
  if (!job || (job.status !== "canceled" && job.status !== "aborted")) return;
  await cancelUnsent(deps, job, await deps.jobs.states(jobId));
}

/** Aborted when the rule says so, completed when every execution of a finished fan-out is final. */
async function decide(deps: CheckDeps, job: Job, counts: ExecutionCounts, at: string): Promise<Job> {
  if (job.status !== "in_progress") return job;
  const abort = abortReason(job, counts);
  if (abort) return (await deps.jobs.finish(job.id, "aborted", at, abort)) ?? job;
  const executions = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
  const open = (counts.queued ?? 0) + (counts.pending ?? 0) + (counts.sent ?? 0) + (counts.delivered ?? 0);
  if (!isFannedOut(job) || executions < job.created || open > 0) return job;
  return (await deps.jobs.finish(job.id, "completed", at)) ?? job;
}

/** The abort rule: `failedPercent` of the executions that ran (acked or failed), once `minExecuted` ran. */
export function abortReason(job: Pick<Job, "abort">, counts: ExecutionCounts): string | undefined {
  if (!job.abort) return undefined;
  const failed = counts.failed ?? 0;
  const executed = (counts.acked ?? 0) + failed;
  if (executed < job.abort.minExecuted || executed === 0) return undefined;
  const percent = (failed * 100) / executed;
  if (percent < job.abort.failedPercent) return undefined;
  return `${failed} of ${executed} executions failed (${percent.toFixed(1)}%), at or over abort.failedPercent ${job.abort.failedPercent}`;
}

export const isFannedOut = (job: Pick<Job, "lastSlice" | "slicesDone">) =>
  job.lastSlice !== undefined && job.slicesDone === job.lastSlice + 1;

async function expireOverdue(
  deps: CheckDeps,
  states: ExecutionState[],
  now: Date,
): Promise<ExecutionState[]> {
  const overdue = states
    .filter((s) => isUnsent(s) && s.expiresAt !== undefined && Date.parse(s.expiresAt) <= now.getTime())
    .slice(0, MAX_MOVES_PER_CHECK);
  if (overdue.length === 0) return states;
  const reason = "its TTL passed before it could be delivered";
  return replaced(states, await expireUnsent(deps, overdue, now.toISOString(), reason));
}

async function cancelUnsent(deps: CheckDeps, job: Job, states: ExecutionState[]): Promise<ExecutionState[]> {
  const unsent = states.filter(isUnsent).slice(0, MAX_MOVES_PER_CHECK);
  if (unsent.length === 0) return states;
  const at = deps.clock.now().toISOString();
  return replaced(states, await expireUnsent(deps, unsent, at, canceledReason(job)));
}

function replaced(states: ExecutionState[], changed: ExecutionState[]): ExecutionState[] {
  const byKey = new Map(changed.map((c) => [`${c.sn}/${c.id}`, c]));
  return states.map((s) => byKey.get(`${s.sn}/${s.id}`) ?? s);
}

/**
 * Nothing can change any more: the fan-out is over and no execution waits or is on its way. A stopped
 * job also waits for its open slices: one that read the job before the stop may still be storing.
 * One still open {@link SLICE_RUN_LIMIT_MS} after the stop died; what it stored is in `states`.
 */
function isSettled(job: Job, states: ExecutionState[], now: number): boolean {
  if (job.status === "in_progress") return false;
  if (job.status === "completed") return true;
  const sliceMayRun = job.openSlices?.length && now - Date.parse(job.updatedAt) < SLICE_RUN_LIMIT_MS;
  return !sliceMayRun && states.length >= job.created && !states.some(isOpen);
}

function sameCounts(a: ExecutionCounts, b: ExecutionCounts): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof ExecutionCounts>;
  for (const key of keys) if ((a[key] ?? 0) !== (b[key] ?? 0)) return false;
  return true;
}
