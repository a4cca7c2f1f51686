import type { PresenceSignal } from "../presence.ts";
import { type PresenceDeps, recordPresence } from "../record-presence.ts";
import { type RequeueDeps, requeuePending } from "./requeue-pending.ts";

/**
 * Merges a presence signal; when it brings the device online, its pending commands are queued again
 * before the change is announced, so a failure here is retried with the signal. They are looked for only
 * when the presence read found the device marked as holding commands (the publisher marks it before a
 * command becomes `pending`): a connect with nothing waiting costs no listing.
 *
 * @example
 * await recordPresenceAndRequeue(deps, "SN0001", { kind: "connected", connectedAt: Date.now() });
 */
export function recordPresenceAndRequeue(
  deps: PresenceDeps & RequeueDeps,
  sn: string,
  signal: PresenceSignal,
) {
  return recordPresence(deps, sn, signal, async (view, _version, commandsMayWait) => {
    if (view.online && commandsMayWait) await requeuePending(deps, sn, String(view.since));
  });
}
