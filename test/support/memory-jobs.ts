import type { CommandQueue } from "../../functions/core/commands/ports.ts";
import type { Command, CommandQueueMessage } from "../../functions/core/commands/types.ts";
import type { JobQueue, JobStore, SliceRecord, TargetDirectory } from "../../functions/core/jobs/ports.ts";
import {
  CANCELED_PREFIX,
  type ExecutionCounts,
  type ExecutionState,
  type Job,
  type JobMessage,
  type JobStatus,
} from "../../functions/core/jobs/types.ts";
import type { Page, PageRequest } from "../../functions/core/queries.ts";
import type { FakeClock, MemoryCommandStore } from "./memory/index.ts";
import { pageOf } from "./memory/index.ts";

/**
 * JobStore with the DynamoDB one's contract, in memory: create only if absent, a slice counted once and
 * only while the job runs, status changes only from `in_progress`, counts saved only by the next check
 * of the one chain, executions read from the command store (the index) in creation order.
 */
export class MemoryJobStore implements JobStore {
  readonly items = new Map<string, Job>();
  private readonly slices = new Map<string, Set<number>>();
  private readonly due = new Map<string, Set<number>>();
  /** Writes to job items, by operation: the fan-out's cost on the job side. */
  readonly writes = { create: 0, openSlice: 0, recordSlice: 0, other: 0 };

  constructor(
    private readonly commands: MemoryCommandStore,
    private readonly clock: FakeClock,
  ) {}

  async create(job: Job) {
    this.writes.create++;
    const existing = this.items.get(job.id);
    if (existing) return { created: false as const, existing: structuredClone(existing) };
    this.items.set(job.id, structuredClone(job));
    return { created: true as const };
  }

  async get(id: string) {
    const job = this.items.get(id);
    return job && this.read(job);
  }

  /** A copy, with the open slices derived as the DynamoDB store derives them. */
  private read(job: Job): Job {
    const counted = this.slices.get(job.id) ?? new Set<number>();
    const open = [...(this.due.get(job.id) ?? [])].filter((slice) => !counted.has(slice));
    return { ...structuredClone(job), ...(open.length ? { openSlices: open } : {}) };
  }

  async list(page: PageRequest): Promise<Page<Job>> {
    const sorted = [...this.items.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    return pageOf(sorted, (j) => `${j.createdAt}#${j.id}`, "jobs", page.limit, page.cursor, true);
  }

  async markStarted(id: string, at: string) {
    this.writes.other++;
    const job = this.must(id);
    job.startedAt ??= at;
    job.announcedStatus ??= "in_progress";
  }

  async openSlice(id: string, slice: number) {
    this.writes.openSlice++;
    if (this.must(id).status !== "in_progress") return false;
    this.due.set(id, new Set([...(this.due.get(id) ?? []), slice]));
    return true;
  }

  async recordSlice(
    id: string,
    slice: number,
    created: number,
    last: boolean,
    total?: number,
  ): Promise<SliceRecord> {
    this.writes.recordSlice++;
    const job = this.must(id);
    const done = this.slices.get(id) ?? new Set<number>();
    if (job.status !== "in_progress") return "stopped";
    if (done.has(slice)) return "repeat";
    this.count(id, slice, created, last, total);
    job.updatedAt = this.clock.iso();
    return "recorded";
  }

  async countStoppedSlice(id: string, slice: number, created: number, last: boolean, total?: number) {
    this.writes.other++;
    if (!this.slices.get(id)?.has(slice)) this.count(id, slice, created, last, total);
  }

  private count(id: string, slice: number, created: number, last: boolean, total?: number) {
    const job = this.must(id);
    this.slices.set(id, new Set([...(this.slices.get(id) ?? []), slice]));
    job.created += created;
    job.slicesDone += 1;
    if (last) job.lastSlice = slice;
    if (total !== undefined) job.total ??= total;
  }

  async finish(id: string, to: JobStatus, at: string, reason?: string) {
    this.writes.other++;
    const job = this.must(id);
    if (job.status !== "in_progress") return undefined;
    Object.assign(job, { status: to, updatedAt: at }, reason ? { reason } : {});
    return this.read(job);
  }

  async saveCounts(
    id: string,
    counts: ExecutionCounts,
    at: string,
    seq: number,
    settle?: { created: number },
  ) {
    this.writes.other++;
    const job = this.must(id);
    if (job.checkSeq !== seq - 1) return false;
    Object.assign(
      job,
      { counts: { ...counts }, countedAt: at, checkSeq: seq },
      settle ? { settledAt: at, created: settle.created } : {},
    );
    return true;
  }

  async markAnnounced(id: string, status: JobStatus) {
    this.writes.other++;
    const job = this.must(id);
    if (job.status === status) job.announcedStatus = status;
  }

  async states(id: string): Promise<ExecutionState[]> {
    return this.executionsOf(id).map(({ sn, id: commandId, status, reason, expiresAt }) => ({
      sn,
      id: commandId,
      status,
      ...(reason ? { reason } : {}),
      ...(expiresAt ? { expiresAt } : {}),
    }));
  }

  async executions(id: string, page: PageRequest, filter: { statuses?: string[]; canceled?: boolean } = {}) {
    const matching = this.executionsOf(id).filter(
      (c) =>
        (!filter.statuses || filter.statuses.includes(c.status)) &&
        (filter.canceled === undefined || (c.reason ?? "").startsWith(CANCELED_PREFIX) === filter.canceled),
    );
    return pageOf(matching, (c) => `${c.createdAt}#${c.sn}`, `executions|${id}`, page.limit, page.cursor);
  }

  private executionsOf(id: string): Command[] {
    return [...this.commands.items.values()]
      .filter((c) => c.jobId === id)
      .sort((a, b) => (`${a.createdAt}#${a.sn}` < `${b.createdAt}#${b.sn}` ? -1 : 1))
      .map((c) => structuredClone(c));
  }

  private must(id: string): Job {
    const job = this.items.get(id);
    if (!job) throw new Error(`no job ${id}`);
    return job;
  }
}

/**
 * The jobs queue in memory with per-message delays on the fake clock: `next()` hands out the message due
 * first and moves the clock to its time, as a worker polling SQS would see it.
 */
export class MemoryJobQueue implements JobQueue {
  readonly messages: Array<{ message: JobMessage; dueAt: number; seq: number }> = [];
  readonly sent: Array<{ message: JobMessage; delaySeconds: number }> = [];
  private seq = 0;

  constructor(private readonly clock: FakeClock) {}

  async send(message: JobMessage, delaySeconds = 0) {
    this.sent.push({ message: structuredClone(message), delaySeconds });
    this.messages.push({
      message: structuredClone(message),
      dueAt: this.clock.now().getTime() + delaySeconds * 1000,
      seq: this.seq++,
    });
  }

  next(): JobMessage | undefined {
    this.messages.sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
    const first = this.messages.shift();
    if (!first) return undefined;
    if (first.dueAt > this.clock.now().getTime()) this.clock.set(first.dueAt);
    return first.message;
  }
}

/** The commands queue as the SQS adapter behaves for it: deduplicated per device (message group). */
export class RecordingCommandQueue implements CommandQueue {
  readonly accepted: Array<CommandQueueMessage & { dedupeId: string }> = [];
  private readonly seen = new Set<string>();

  async enqueue(messages: Array<CommandQueueMessage & { dedupeId: string }>) {
    for (const message of messages) {
      const key = `${message.sn}/${message.dedupeId}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.accepted.push(message);
    }
  }
}

/** Groups and the fleet in memory. */
export class MemoryTargets implements TargetDirectory {
  readonly groups = new Map<string, string[]>();
  fleet: string[] = [];

  async groupMembers(group: string, page: PageRequest) {
    const members = [...(this.groups.get(group) ?? [])].sort();
    return pageOf(members, (sn) => sn, `group|${group}`, page.limit, page.cursor);
  }

  async countGroup(group: string) {
    return this.groups.get(group)?.length ?? 0;
  }

  async allDevices(page: PageRequest) {
    return pageOf([...this.fleet].sort(), (sn) => sn, "all", page.limit, page.cursor);
  }
}
