import type { DeliveryTransport, DeviceTransportStore } from "../device-transport.ts";
import { type RequeueDeps, requeueStatus } from "./requeue-pending.ts";

export interface SwitchTransportDeps extends RequeueDeps {
  transports: DeviceTransportStore;
  /** Whether the device is connected now: its presence, as `DeviceReader` reads it. */
  presence: { get(sn: string): Promise<{ online?: boolean } | undefined> };
}

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
  const done = new Set<string>();
  const occasion = `transport-${at}`;
  await requeueStatus(deps, sn, "pending", {
    occasion,
    expiredReason: "its TTL passed while it waited",
    done,
  });
  // A queued one past its TTL is left to its own queue message, which expires it.
  await requeueStatus(deps, sn, "queued", { occasion, done });
  return { requeued: done.size };
}
