import type { DeliveryTransport, DeviceTransportStore } from "../device-transport.ts";
import { type RequeueDeps, requeuePending } from "./requeue-pending.ts";

export interface SwitchTransportDeps extends RequeueDeps {
  transports: DeviceTransportStore;
}

/**
 * Sets how a device takes its commands. Moving it from `http` to `mqtt` puts the commands that waited for
 * its poll back on its queue, in order, so the publisher sends them now: a device already connected
 * would otherwise see them only at its next connect. One it finds without a subscriber stays `pending`
 * and marked for that connect, like any other.
 *
 * @example
 * const { requeued } = await switchTransport(deps, "SN1", "mqtt");
 */
export async function switchTransport(
  deps: SwitchTransportDeps,
  sn: string,
  transport: DeliveryTransport,
): Promise<{ requeued: number }> {
  const before = await deps.transports.get(sn);
  const at = deps.clock.now().toISOString();
  await deps.transports.set(sn, transport, at);
  if (before !== "http" || transport !== "mqtt") return { requeued: 0 };
  return { requeued: await requeuePending(deps, sn, `transport-${at}`) };
}
