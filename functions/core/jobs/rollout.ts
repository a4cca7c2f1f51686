import type { Job } from "./types.ts";

/** Executions one fan-out slice creates without a rollout: a slice is one worker call's work. */
export const SLICE_SIZE = 100;

/**
 * A slice still open this long after its job stopped died: every attempt of it opened before the stop
 * and ends within the jobs worker's timeout, and the stop's time is stamped at most a worker's timeout
 * before the stop is written (both well under half of this).
 */
export const SLICE_RUN_LIMIT_MS = 5 * 60_000;

/**
 * With `rollout.perMinute` N, a slice is N/60 executions (at least 1, at most {@link SLICE_SIZE}) and
 * slices start `stepMs` apart, so the rate is N per minute in steps of about a second.
 */
export function sliceSize(job: Pick<Job, "rollout">): number {
  const perMinute = job.rollout?.perMinute;
  if (!perMinute) return SLICE_SIZE;
  return Math.min(SLICE_SIZE, Math.max(1, Math.ceil(perMinute / 60)));
}

export function stepMs(job: Pick<Job, "rollout">): number {
  const perMinute = job.rollout?.perMinute;
  return perMinute ? (sliceSize(job) * 60_000) / perMinute : 0;
}

/**
 * When the next slice is due and the queue delay that gets it there. Counted from the later of this
 * slice's due time and now: a slice that ran late never makes the next one catch up in a burst.
 * SQS delays are whole seconds, rounded up, so slices are never early.
 */
export function nextSlice(job: Pick<Job, "rollout">, dueAt: number, now: number) {
  const step = stepMs(job);
  if (step === 0) return { dueAt: now, delaySeconds: 0 };
  const next = Math.max(dueAt, now) + step;
  return { dueAt: next, delaySeconds: Math.min(900, Math.ceil((next - now) / 1000)) };
}

/** Checks back off while nothing changes: `base`, twice that, ... up to SQS's 15-minute delay. */
export function checkDelay(baseSeconds: number, idle: number): number {
  return Math.min(900, baseSeconds * 2 ** Math.min(idle, 10));
}
