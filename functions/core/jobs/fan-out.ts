import { commandStatusMessage } from "../commands/announce.ts";
import { newCommand } from "../commands/create-command.ts";
import type { CommandQueue, CommandStore } from "../commands/ports.ts";
import type { Command } from "../commands/types.ts";
import { mapWithConcurrency } from "../concurrency.ts";
import type { Clock, EventQueue } from "../ports.ts";
import { canceledReason, expireUnsent, WRITE_CONCURRENCY } from "./executions.ts";
import type { JobQueue, JobStore, TargetDirectory } from "./ports.ts";
import { nextSlice, sliceSize } from "./rollout.ts";
import { targetCount, targetPage } from "./targets.ts";
import { executionId, type Job, type JobMessage } from "./types.ts";

export interface FanoutDeps {
  jobs: JobStore;
  jobQueue: JobQueue;
  commands: CommandStore;
  events: EventQueue;
  queue: CommandQueue;
  targets: TargetDirectory;
  clock: Clock;
  /** Seconds between a job's checks while its executions change. */
  checkSeconds: number;
}

type SliceMessage = Extract<JobMessage, { kind: "fanout" }>;
export type SliceOutcome = "created" | "stopped" | "missing";

/**
 * One slice of a job's fan-out: the next slice goes on the jobs queue first (delayed to keep the
 * rollout's rate), then this slice's executions are stored at one conditional put each, counted on the
 * job at one write for the slice, announced `queued` and put on the commands queue in batches of ten.
 * From there each execution is an ordinary command: the publisher, acks, TTL and redelivery are the
 * commands' own. A repeated slice (a crash, a redelivery) finds its executions and counts them once;
 * a slice that finds its job stopped cancels what it just stored instead of queueing it. Before it
 * stores anything a slice marks itself open on the job, while the job runs, so a stopped job's checks
 * wait for it to be counted.
 */
export async function runSlice(deps: FanoutDeps, message: SliceMessage): Promise<SliceOutcome> {
  const job = await deps.jobs.get(message.jobId);
  if (!job) return "missing";
  if (job.status !== "in_progress" || !(await deps.jobs.openSlice(job.id, message.slice)))
    return stoppedSlice(deps, job, message);
  const now = deps.clock.now();
  const page = await targetPage(deps.targets, job.targets, message.cursor, sliceSize(job));
  if (page.cursor) {
    const next = nextSlice(job, message.dueAt, now.getTime());
    const following = { ...message, slice: message.slice + 1, cursor: page.cursor, dueAt: next.dueAt };
    await deps.jobQueue.send(following, next.delaySeconds);
  }
  const total = message.slice === 0 ? await targetCount(deps.targets, job.targets) : undefined;
  if (message.slice === 0) await startChecks(deps, job.id);
  const executions = await storeExecutions(deps, job, page.items, now);
  const recorded = await deps.jobs.recordSlice(job.id, message.slice, executions.length, !page.cursor, total);
  if (recorded === "stopped") {
    const stopped = (await deps.jobs.get(job.id)) ?? job;
    await expireUnsent(deps, executions, now.toISOString(), canceledReason(stopped));
    // Counted once canceled: a stopped job never shows counted executions still waiting.
    await deps.jobs.countStoppedSlice(job.id, message.slice, executions.length, !page.cursor, total);
    return "stopped";
  }
  const waiting = executions.filter((command) => command.status === "queued");
  if (waiting.length === 0) return "created";
  await deps.events.send(waiting.map(commandStatusMessage));
  if (deps.queue.fedByAnnouncements) return "created";
  await deps.queue.enqueue(waiting.map((c) => ({ sn: c.sn, id: c.id, dedupeId: c.id })));
  return "created";
}

/**
 * A slice that finds its job stopped stores nothing (an earlier attempt's executions, if it died after
 * storing, are the checks' to cancel). A job stopped before its first slice ran gets its checks here.
 */
async function stoppedSlice(deps: FanoutDeps, job: Job, message: SliceMessage): Promise<SliceOutcome> {
  if (message.slice === 0) await startChecks(deps, job.id);
  return "stopped";
}

/** The job's chain of checks: its first check (a second one started by another slice 0 is dropped at its save). */
function startChecks(deps: FanoutDeps, jobId: string): Promise<void> {
  return deps.jobQueue.send({ kind: "check", jobId, seq: 1, idle: 0 }, deps.checkSeconds);
}

/**
 * Stores the slice's executions: `queued` commands with the job's id, recorded as announced and queued
 * already (the slice's message comes back until both are done, so one write per execution suffices).
 * A command of the device that already has the execution's id and is not this job's is left alone.
 */
async function storeExecutions(deps: FanoutDeps, job: Job, sns: string[], now: Date): Promise<Command[]> {
  const request = {
    id: executionId(job.id),
    op: job.op,
    data: job.data,
    ...(job.ttlSeconds ? { ttlSeconds: job.ttlSeconds } : {}),
  };
  const stored = await mapWithConcurrency(sns, WRITE_CONCURRENCY, async (sn) => {
    const command: Command = {
      ...newCommand(sn, request, now),
      jobId: job.id,
      enqueuedAt: now.toISOString(),
      announcedStatus: "queued",
    };
    const result = await deps.commands.create(command);
    if (result.created) return command;
    return result.existing.jobId === job.id ? result.existing : undefined;
  });
  return stored.filter((command): command is Command => command !== undefined);
}
