import { AsyncLocalStorage } from "node:async_hooks";
import { DeadlineExceededError } from "./errors.ts";

const cancellation = new AsyncLocalStorage<AbortSignal>();

/**
 * The signal of the deadline the calling code runs under, if any. The adapters hand it to every SDK
 * request (functions/adapters/aws-client-config.ts) and every `fetch` (the EMQX clients), so work still
 * in flight when its deadline passes stops there instead of running on after the answer (and resuming
 * when Lambda thaws the environment).
 */
export const currentAbortSignal = (): AbortSignal | undefined => cancellation.getStore();

/** `signal` and the current deadline's, whichever aborts first (for a call with a timeout of its own). */
export function withCurrentSignal(signal: AbortSignal): AbortSignal {
  const current = cancellation.getStore();
  return current ? AbortSignal.any([signal, current]) : signal;
}

/**
 * Runs `work` within `ms`: settles with it, or rejects with {@link DeadlineExceededError} once `ms` have
 * passed and aborts the signal `work` runs under ({@link currentAbortSignal}). Nested deadlines abort
 * with the outer one too.
 *
 * @example
 * const stored = await withDeadline(() => recordAttendance(deps, records), 8_000);
 */
export async function withDeadline<T>(work: () => Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const exceeded = new DeadlineExceededError(ms);
      controller.abort(exceeded);
      reject(exceeded);
    }, ms);
  });
  try {
    return await Promise.race([cancellation.run(withCurrentSignal(controller.signal), work), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
