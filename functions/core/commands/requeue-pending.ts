import type { Clock } from "../ports.ts";
import { type AnnounceDeps, announceStatus } from "./announce.ts";
import { isExpired } from "./envelope.ts";
import type { CommandQueue, CommandStore } from "./ports.ts";

export interface RequeueDeps extends AnnounceDeps {
  commands: CommandStore;
  queue: CommandQueue;
  clock: Clock;
}

const PAGE = 100;

/**
 * The device came online: its `pending` commands go back on its FIFO queue in their original order;
 * those whose TTL passed while waiting become `expired`. `occasion` (the presence change) makes the
 * queue's deduplication id, so a retried presence event does not queue them twice.
 */
export async function requeuePending(deps: RequeueDeps, sn: string, occasion: string): Promise<number> {
  const now = deps.clock.now();
  let cursor: string | undefined;
  let queued = 0;
  do {
    const page = await deps.commands.listByStatus(sn, "pending", PAGE, cursor);
    const live = [];
    for (const command of page.items) {
      if (!isExpired(command, now)) {
        live.push(command);
        continue;
      }
      const expired = await deps.commands.transition(sn, command.id, "expired", now.toISOString(), {
        reason: "its TTL passed while the device was offline",
      });
      if (expired) await announceStatus(deps, expired);
    }
    if (live.length)
      await deps.queue.enqueue(live.map((c) => ({ sn, id: c.id, dedupeId: `${c.id}-${occasion}` })));
    queued += live.length;
    cursor = page.cursor;
  } while (cursor);
  return queued;
}
