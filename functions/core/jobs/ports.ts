import type { Command } from "../commands/types.ts";
import type { Page, PageRequest } from "../queries.ts";
import type { ExecutionCounts, ExecutionState, Job, JobMessage, JobStatus } from "./types.ts";

export type SliceRecord = "recorded" | "repeat" | "stopped";

/** Jobs, one item each, and their executions (commands carrying `jobId`) through an index. */
export interface JobStore {
  /** Stores the job unless one with its id exists; then returns the stored one. */
  create(job: Job): Promise<{ created: true } | { created: false; existing: Job }>;
  /** Read consistently: a slice must see a cancel that happened before it. */
  get(id: string): Promise<Job | undefined>;
  /** Newest first. */
  list(page: PageRequest): Promise<Page<Job>>;
  markStarted(id: string, at: string): Promise<void>;
  /** Marks slice `slice` open (`Job.openSlices`) until it is counted, if the job is in progress; false if not. */
  openSlice(id: string, slice: number): Promise<boolean>;
  /**
   * Adds slice `slice`'s `created` executions once while the job is in progress: `repeat` when it was
   * recorded before, `stopped` (nothing added) when the job is no longer in progress. `last` marks the
   * slice after which there are no targets; `total`, when given, is set unless known.
   */
  recordSlice(
    id: string,
    slice: number,
    created: number,
    last: boolean,
    total?: number,
  ): Promise<SliceRecord>;
  /**
   * Adds the executions a slice stored while its job stopped (once per slice, whatever the job's status),
   * without changing the job's `updatedAt`: its last check stays the one that counted after the stop.
   */
  countStoppedSlice(id: string, slice: number, created: number, last: boolean, total?: number): Promise<void>;
  /** Moves an in-progress job to `to`; `undefined` when it was not in progress any more. */
  finish(id: string, to: JobStatus, at: string, reason?: string): Promise<Job | undefined>;
  /**
   * Saves check `seq`'s counts if the last saved check was `seq - 1`; false for a stray second chain.
   * With `settle` they are final: `settledAt` says since when, and `created` becomes the executions
   * the job ended with (a slice that died after storing never counted its own).
   */
  saveCounts(
    id: string,
    counts: ExecutionCounts,
    at: string,
    seq: number,
    settle?: { created: number },
  ): Promise<boolean>;
  markAnnounced(id: string, status: JobStatus): Promise<void>;
  /** Every execution's status (for counting), in one paged read of the index. */
  states(id: string): Promise<ExecutionState[]>;
  /** A page of executions, oldest first; `statuses` filters on the command status. */
  executions(
    id: string,
    page: PageRequest,
    filter?: { statuses?: string[]; canceled?: boolean },
  ): Promise<Page<Command>>;
}

/** The jobs queue (standard SQS): delayed messages pace the rollout and the checks. */
export interface JobQueue {
  send(message: JobMessage, delaySeconds?: number): Promise<void>;
}

/** Device groups and the fleet: where a job's targets come from, a page at a time. */
export interface TargetDirectory {
  /** Serial numbers in `group`, in order; the cursor is opaque. */
  groupMembers(group: string, page: PageRequest): Promise<Page<string>>;
  countGroup(group: string): Promise<number>;
  /** Every device the bridge knows (its presence), by serial number. */
  allDevices(page: PageRequest): Promise<Page<string>>;
}
