import type { DeliveryTransport, DeviceTransportStore } from "../device-transport.ts";
import { orderKey } from "./older-first.ts";
import type { CommandStore } from "./ports.ts";
import type { RequeueDeps } from "./requeue-pending.ts";
import type { Command } from "./types.ts";

export interface SwitchTransportDeps extends RequeueDeps {
  transports: DeviceTransportStore;
}

/** Commands of one status listed per request. */
const PAGE = 100;

/**
 * Sets how a device takes its commands. Set to `mqtt`, every command of the device still waiting
 * (`queued` or `pending`) goes back on its queue in order, so the publisher sends it now: a device
 * already connected would otherwise get the ones that waited for its poll only at its next connect.
 *
 * Why every `mqtt` PUT and both statuses, not only a move from `http` and `pending`: a PUT retried after
 * a failed enqueue finds the transport already `mqtt`; a command a publisher batch holds while the
 * transport changes is still `queued`, and its new pointer reaches the publisher only after that batch
 * (one FIFO group per device), when it is `pending`. The "commands may wait" mark covers a command the
 * status index does not show yet: the device's next connect lists it. The publisher skips a pointer to
 * a command it has sent already and expires one whose TTL passed.
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
  await deps.commands.markWaiting(sn, at);
  const waiting = await waitingCommands(deps.commands, sn);
  await deps.queue.enqueue(waiting.map((c) => ({ sn, id: c.id, dedupeId: `${c.id}-transport-${at}` })));
  return { requeued: waiting.length };
}

/** The device's `queued` and `pending` commands, each once, in the publisher's order. */
async function waitingCommands(commands: CommandStore, sn: string): Promise<Command[]> {
  const byId = new Map<string, Command>();
  for (const status of ["queued", "pending"] as const) {
    let cursor: string | undefined;
    do {
      const page = await commands.listByStatus(sn, status, PAGE, cursor);
      // The index can list a command under both statuses while it catches up.
      for (const command of page.items) byId.set(command.id, command);
      cursor = page.cursor;
    } while (cursor);
  }
  return [...byId.values()].sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : 1));
}
