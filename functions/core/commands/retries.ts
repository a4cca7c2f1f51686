import { TransientError } from "../errors.ts";
import type { QueuedCommand } from "./queued.ts";

/**
 * The queue messages of a batch that must come back, and whether only an unavailable EMQX, store or
 * queue is to blame (those never go to the DLQ: see `recycle.ts`). Once a message of a device must come
 * back, so must that device's later messages in the batch, for the same reason, so order holds.
 */
export class Retries {
  /** Queue message ids to report as batch item failures, in batch order. */
  readonly failed: string[] = [];
  /** Of those, the ones held back only by unavailability. */
  readonly unavailable = new Set<string>();
  /** Devices with a retried message in this batch, and whether only unavailability is to blame. */
  readonly #blocked = new Map<string, boolean>();

  isBlocked(sn: string): boolean {
    return this.#blocked.has(sn);
  }

  /** `cause` is the error, or `BLOCKED` for a message that waits behind an earlier one of its device. */
  add(queued: QueuedCommand, cause: unknown): void {
    const own = cause === BLOCKED || isUnavailability(cause);
    const unavailable = own && (this.#blocked.get(queued.sn) ?? true);
    this.#blocked.set(queued.sn, unavailable);
    // A command taken from the store has no queue message; it is tried again with the next one.
    if (queued.fromStore) return;
    if (!this.failed.includes(queued.messageId)) this.failed.push(queued.messageId);
    if (unavailable) this.unavailable.add(queued.messageId);
  }

  /** The message goes back on the queue as a fresh one instead of coming back. */
  forget(messageId: string): void {
    const at = this.failed.indexOf(messageId);
    if (at >= 0) this.failed.splice(at, 1);
    this.unavailable.delete(messageId);
  }
}

/** Marks a retry caused by an earlier message of the same device, not by its own failure. */
export const BLOCKED = Symbol("blocked by an earlier command of the device");

/** EMQX, DynamoDB or SQS down, throttled, slow or answering 5xx: not this command's fault. */
export const isUnavailability = (error: unknown) => error instanceof TransientError;
