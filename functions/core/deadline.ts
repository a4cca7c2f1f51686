import { AsyncLocalStorage } from "node:async_hooks";
import { DeadlineExceededError } from "./errors.ts";

/**
 * One running deadline: what to cancel when it passes. Calls register a callback for the time they are
 * in flight and take it back when they settle, so a finished call leaves nothing behind (no listener on
 * a signal, no timer); an `AbortSignal` is made only for a caller that asks for one (`fetch`).
 */
class RunningDeadline {
  private readonly cancels = new Set<() => void>();
  private controller?: AbortController;
  passed?: Error;

  /** Calls `cancel` when the deadline passes (now, if it has); the returned function takes it back. */
  onPass(cancel: () => void): () => void {
    if (this.passed) {
      cancel();
      return () => undefined;
    }
    this.cancels.add(cancel);
    return () => this.cancels.delete(cancel);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      if (this.passed) controller.abort(this.passed);
      else this.onPass(() => controller.abort(this.passed));
      this.controller = controller;
    }
    return this.controller.signal;
  }

  pass(reason: Error): void {
    if (this.passed) return;
    this.passed = reason;
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
  }
}

const running = new AsyncLocalStorage<RunningDeadline>();

/**
 * Calls `cancel` if the deadline the calling code runs under passes; returns the function that takes it
 * back, to call once the work settles. The SDK's HTTP handler (functions/adapters/aws-client-config.ts)
 * aborts its request this way, so work still in flight when its deadline passes stops there instead of
 * running on after the answer (and resuming when Lambda thaws the environment).
 */
export function onDeadlinePassed(cancel: () => void): () => void {
  return running.getStore()?.onPass(cancel) ?? (() => undefined);
}

/** `signal` and the current deadline's, whichever aborts first (for a `fetch` with a timeout of its own). */
export function withCurrentSignal(signal: AbortSignal): AbortSignal {
  const current = running.getStore();
  return current ? AbortSignal.any([signal, current.signal]) : signal;
}

/**
 * Runs `work` within `ms`: settles with it, or rejects with {@link DeadlineExceededError} once `ms` have
 * passed and cancels the calls `work` still has in flight ({@link onDeadlinePassed}). A nested deadline
 * passes with the outer one too.
 *
 * @example
 * const stored = await withDeadline(() => recordAttendance(deps, records), 8_000);
 */
export async function withDeadline<T>(work: () => Promise<T>, ms: number): Promise<T> {
  const deadline = new RunningDeadline();
  const outer = running.getStore();
  const leaveOuter = outer?.onPass(() => deadline.pass(outer.passed as Error));
  let timer: NodeJS.Timeout | undefined;
  const passed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const exceeded = new DeadlineExceededError(ms);
      deadline.pass(exceeded);
      reject(exceeded);
    }, ms);
  });
  try {
    return await Promise.race([running.run(deadline, work), passed]);
  } finally {
    clearTimeout(timer);
    leaveOuter?.();
  }
}
