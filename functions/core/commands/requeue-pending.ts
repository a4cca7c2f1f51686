import type { Clock } from "../ports.ts";
import { type AnnounceDeps, announceStatus } from "./announce.ts";
import { isExpired } from "./envelope.ts";
import type { CommandQueue, CommandStore } from "./ports.ts";
import type { Command } from "./types.ts";

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
  return requeueStatus(deps, sn, "pending", {
    occasion,
    expiredReason: "its TTL passed while the device was offline",
  });
}

export interface RequeueOptions {
  /** Makes each queue message's deduplication id: a retried occasion does not queue a command twice. */
  occasion: string;
  /** Why a command past its TTL becomes `expired`; unset, it is left alone (its own queue message expires it). */
  expiredReason?: string;
  /** Ids queued already on this occasion (another status's listing): skipped, and added to. */
  done?: Set<string>;
}

/**
 * Puts the device's `status` commands back on its FIFO queue, page by page in the index's order, and
 * returns how many it queued.
 */
export async function requeueStatus(
  deps: RequeueDeps,
  sn: string,
  status: "pending" | "queued",
  options: RequeueOptions,
): Promise<number> {
  const now = deps.clock.now();
  const done = options.done ?? new Set<string>();
  let cursor: string | undefined;
  let queued = 0;
  do {
    const page = await deps.commands.listByStatus(sn, status, PAGE, cursor);
    const expired = page.items.filter((c) => isExpired(c, now));
    if (options.expiredReason) await expireAll(deps, expired, now, options.expiredReason);
    // The index can list a command under two statuses while it catches up: one message is enough.
    const live = page.items.filter((c) => !isExpired(c, now) && !done.has(c.id));
    const dedupe = (id: string) => `${id}-${options.occasion}`;
    if (live.length) await deps.queue.enqueue(live.map((c) => ({ sn, id: c.id, dedupeId: dedupe(c.id) })));
    for (const command of live) done.add(command.id);
    queued += live.length;
    cursor = page.cursor;
  } while (cursor);
  return queued;
}

async function expireAll(deps: RequeueDeps, commands: Command[], now: Date, reason: string): Promise<void> {
  for (const command of commands) {
    const expired = await deps.commands.transition(command.sn, command.id, "expired", now.toISOString(), {
      reason,
    });
    if (expired) await announceStatus(deps, expired);
  }
}
