import { type DeliveryTransport, type DeviceTransportStore, HTTP_POLL_REASON } from "../device-transport.ts";
import { isExpired } from "./envelope.ts";
import type { RequeueDeps } from "./requeue-pending.ts";
import type { Command } from "./types.ts";

export interface SwitchTransportDeps extends RequeueDeps {
  transports: DeviceTransportStore;
}

/** Commands of one status listed per request; each page is queued before the next is read. */
const PAGE = 100;

/**
 * Sets how a device takes its commands. Set to `mqtt`, the commands that wait for the device's poll
 * (`pending` for that reason, or still `queued`) go back on its queue, oldest first, so the publisher
 * sends them now: a device already connected would otherwise get them only at its next connect.
 *
 * Why on every `mqtt` PUT, and `queued` ones too: a PUT retried after a failed enqueue finds the transport
 * already `mqtt`; a command a publisher batch holds while the transport changes is still `queued`, and its
 * new pointer reaches the publisher only after that batch (one FIFO group per device), when it is
 * `pending`. The "commands may wait" mark covers a command the status index does not show yet: the
 * device's next connect lists it. The publisher skips a pointer to a command it has sent already.
 * Commands an offline MQTT device left `pending` are not touched: its connect re-queues them.
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
  const queued = new Set<string>();
  await requeueWaiting(deps, sn, "pending", `transport-${at}`, queued);
  await requeueWaiting(deps, sn, "queued", `transport-${at}`, queued);
  return { requeued: queued.size };
}

/** Puts `status` commands waiting for the poll back on the queue, page by page; adds their ids to `done`. */
async function requeueWaiting(
  deps: SwitchTransportDeps,
  sn: string,
  status: "pending" | "queued",
  occasion: string,
  done: Set<string>,
): Promise<void> {
  const now = deps.clock.now();
  const waits = (c: Command) => (status === "queued" || c.reason === HTTP_POLL_REASON) && !isExpired(c, now);
  let cursor: string | undefined;
  do {
    const page = await deps.commands.listByStatus(sn, status, PAGE, cursor);
    // The index can list a command under both statuses while it catches up: one pointer is enough.
    const fresh = page.items.filter((c) => waits(c) && !done.has(c.id));
    await deps.queue.enqueue(fresh.map((c) => ({ sn, id: c.id, dedupeId: `${c.id}-${occasion}` })));
    for (const command of fresh) done.add(command.id);
    cursor = page.cursor;
  } while (cursor);
}
