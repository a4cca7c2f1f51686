import type { CommandQueue } from "./ports.ts";
import type { QueuedCommand } from "./queued.ts";
import type { Retries } from "./retries.ts";

/**
 * Receives left before the DLQ are a budget an outage must not spend: SQS moves a message to the DLQ
 * after `maxReceiveCount` receives whatever the reason. So a message that EMQX (or the store) being
 * unavailable has held back `afterReceives` times is put on the queue again as a fresh pointer (new
 * deduplication id, receive count 1) and the old one is acknowledged. The fresh one lands at the end of
 * the device's group; per-device order still holds because the publisher sends a device's older
 * unpublished commands first whenever the device is marked as holding some (`older-first.ts`).
 */
export interface RecyclePolicy {
  queue: CommandQueue;
  /** At or above this receive count a held-back message is recycled; below the queue's maxReceiveCount. */
  afterReceives: number;
}

/**
 * Recycles the batch's exhausted messages; returns their ids. `beforeSend` marks their devices (see
 * `publish-commands.ts`); when it or the send fails, they are left to SQS.
 */
export async function recycleExhausted(
  policy: RecyclePolicy | undefined,
  batch: QueuedCommand[],
  retries: Retries,
  log?: (message: string, fields: { error: unknown } & Record<string, unknown>) => void,
  beforeSend?: (exhausted: QueuedCommand[]) => Promise<void>,
): Promise<string[]> {
  if (!policy) return [];
  const exhausted = batch.filter(
    (queued) =>
      retries.unavailable.has(queued.messageId) && (queued.receiveCount ?? 1) >= policy.afterReceives,
  );
  if (exhausted.length === 0) return [];
  try {
    await beforeSend?.(exhausted);
    // In batch order, so a device's fresh pointers keep their relative order; the id of the old
    // message makes the dedupe id, so a crash before the old one is acknowledged cannot double it.
    await policy.queue.enqueue(
      exhausted.map((q) => ({ sn: q.sn, id: q.id, dedupeId: `${q.id}-again-${q.messageId}` })),
    );
  } catch (error) {
    log?.("could not put held-back commands on the queue again; SQS will redeliver them", {
      error,
      commands: exhausted.length,
    });
    return [];
  }
  for (const queued of exhausted) retries.forget(queued.messageId);
  return exhausted.map((q) => q.messageId);
}
