import type { DeliveryTransport, DeviceTransportStore } from "../device-transport.ts";
import { announceStatus } from "./announce.ts";
import { isExpired } from "./envelope.ts";
import type { RequeueDeps } from "./requeue-pending.ts";

export interface SwitchTransportDeps extends RequeueDeps {
  transports: DeviceTransportStore;
  /** Whether the device is connected now: its presence, as `DeviceReader` reads it. */
  presence: { get(sn: string): Promise<{ online?: boolean } | undefined> };
}

/** Commands of one status listed per request; each page is queued before the next is read. */
const PAGE = 100;

/**
 * Sets how a device takes its commands. Set to `mqtt` while the device is connected, its waiting
 * commands (`pending`, or still `queued`) go back on its queue, oldest first, so the publisher sends them
 * now rather than at its next connect; those whose TTL passed become `expired`. An offline device's next
 * connect lists them, as for any device: the "commands may wait" mark makes sure it does.
 *
 * Why on every `mqtt` PUT, and `queued` ones too: a PUT retried after a failed enqueue finds the transport
 * already `mqtt`; a command a publisher batch holds while the transport changes is still `queued`, and its
 * new pointer reaches the publisher only after that batch (one FIFO group per device), when it is
 * `pending`. The publisher skips a pointer to a command it has sent already.
 *
 * @example
 * const { requeued } = await switchTransport(deps, "SN1", "mqtt");
 */
export async function switchTransport(
  deps: SwitchTransportDeps,
  sn: string,
  transport: DeliveryTransport,
): Promise<{ requeued: number }> {
  const at = deps.clock.now().toISOString();
  await deps.transports.set(sn, transport, at);
  if (transport !== "mqtt") return { requeued: 0 };
  // Read again: a publisher batch may have marked the device while the transport was written.
  await deps.commands.markWaiting(sn, deps.clock.now().toISOString());
  if (!(await deps.presence.get(sn))?.online) return { requeued: 0 };
  const queued = new Set<string>();
  await requeueWaiting(deps, sn, "pending", `transport-${at}`, queued);
  await requeueWaiting(deps, sn, "queued", `transport-${at}`, queued);
  return { requeued: queued.size };
}

/** Puts `status` commands back on the queue, page by page, expiring those past their TTL; adds ids to `done`. */
async function requeueWaiting(
  deps: SwitchTransportDeps,
  sn: string,
  status: "pending" | "queued",
  occasion: string,
  done: Set<string>,
): Promise<void> {
  const now = deps.clock.now();
  let cursor: string | undefined;
  do {
    const page = await deps.commands.listByStatus(sn, status, PAGE, cursor);
    const expired = page.items.filter((c) => isExpired(c, now));
    // A queued one's own pointer expires it; a pending one has none left.
    if (status === "pending") for (const command of expired) await expire(deps, command.id, sn, now);
    // The index can list a command under both statuses while it catches up: one pointer is enough.
    const live = page.items.filter((c) => !isExpired(c, now) && !done.has(c.id));
    await deps.queue.enqueue(live.map((c) => ({ sn, id: c.id, dedupeId: `${c.id}-${occasion}` })));
    for (const command of live) done.add(command.id);
    cursor = page.cursor;
  } while (cursor);
}

async function expire(deps: SwitchTransportDeps, id: string, sn: string, now: Date): Promise<void> {
  const expired = await deps.commands.transition(sn, id, "expired", now.toISOString(), {
    reason: "its TTL passed while it waited",
  });
  if (expired) await announceStatus(deps, expired);
}
