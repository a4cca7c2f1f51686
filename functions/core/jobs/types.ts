import type { Command } from "../commands/types.ts";
import type { ExecutionStatus, JobRequest, JobStatus, JobTargets } from "../schemas/jobs.ts";

export type { ExecutionStatus, JobStatus, JobTargets } from "../schemas/jobs.ts";

/** Executions per status, as the last check counted them. */
export type ExecutionCounts = Partial<Record<ExecutionStatus, number>>;

/** A job as stored: what was asked, where its fan-out is, and its executions' counts. */
export interface Job {
  id: string;
  op: string;
  data: Record<string, unknown>;
  targets: JobTargets;
  rollout?: NonNullable<JobRequest["rollout"]>;
  ttlSeconds?: number;
  abort?: NonNullable<JobRequest["abort"]>;
  status: JobStatus;
  /** Why it was aborted or canceled. */
  reason?: string;
  createdAt: string;
  updatedAt: string;
  /** Hash of the request: the same id with another body is a conflict. */
  requestHash: string;
  /** Set once its first fan-out message is on the jobs queue. */
  startedAt?: string;
  /** How many devices it targets, once known (a list or a group: at the first slice; `all`: at the end). */
  total?: number;
  /** Executions created so far (each slice adds its own, once). */
  created: number;
  /** Slices recorded so far, and the number of the last one once the targets ran out. */
  slicesDone: number;
  lastSlice?: number;
  /**
   * Slices that began storing while the job ran and are not counted yet. A slice may store its
   * executions before it finds the job stopped: a stopped job settles once none is open, or once the
   * open ones can no longer run.
   */
  openSlices?: number[];
  counts: ExecutionCounts;
  countedAt?: string;
  /** Set by the check that found nothing can change any more: the counts are final. */
  settledAt?: string;
  /** The check that saved the counts last: one chain of checks per job. */
  checkSeq: number;
  announcedStatus?: JobStatus;
}

/** What a check reads of each execution (a projection of its command). */
export type ExecutionState = Pick<Command, "sn" | "id" | "status" | "reason" | "expiresAt">;

/** A message on the jobs queue. */
export type JobMessage =
  /** Create the executions of one slice of targets; `cursor` says where the slice starts. */
  | { kind: "fanout"; jobId: string; slice: number; cursor?: string; dueAt: number }
  /** Count the executions, finish the job when they are done or the abort rule says so. */
  | { kind: "check"; jobId: string; seq: number; idle: number }
  /** Cancel the executions not sent yet (the job was canceled or aborted). */
  | { kind: "cancel"; jobId: string };

export const JOB_FINAL: readonly JobStatus[] = ["completed", "canceled", "aborted"];

/** The command id of a job's execution on each of its devices. */
export const executionId = (jobId: string) => `job-${jobId}`;

/** Reason of an execution the job stopped before it was sent; its command is `expired`. */
export const CANCELED_PREFIX = "canceled:";
export const isCanceled = (state: Pick<Command, "status" | "reason">) =>
  state.status === "expired" && (state.reason ?? "").startsWith(CANCELED_PREFIX);
