import type { CommandsWaiting } from "../ports.ts";
import type { PresenceSignal, PresenceView } from "../presence.ts";
import { type PresenceDeps, recordPresence } from "../record-presence.ts";
import { type RequeueDeps, requeuePending } from "./requeue-pending.ts";

/**
 * How long after it was last set a "commands may wait" mark may be lifted. Longer than a publisher
 * invocation can take between marking a device and writing its `pending` commands (its Lambda timeout,
 * 30 s), plus the time the status index takes to show a write: a listing made this long after the mark
 * sees every command that became `pending` under it.
 */
export const WAIT_MARK_SETTLE_MS = 5 * 60_000;

/**
 * How much older than the presence's `since` a mark may look and still count as set after the connect:
 * `since` is EMQX's clock, `markedAt` the publisher's.
 */
export const CLOCK_MARGIN_MS = 60_000;

/**
 * How soon after its connect an `st` online counts as the one a device sends once subscribed. Later
 * ones (heartbeats) do not list: a device that stays connected without subscribing would otherwise
 * have its command re-queued, published and kept `pending` again at every heartbeat.
 */
export const SUBSCRIBED_ST_WINDOW_MS = 60_000;

/**
 * Merges a presence signal and, when it leaves the device online while the presence read found it
 * marked as possibly holding `pending` commands, queues those again before the signal is answered (so
 * a failure here is retried with the signal):
 * - on the change that brings the device online, when a mark is there or the store cannot tell;
 * - on its `st` online after subscribing, which confirms the connect, when the "commands may wait"
 *   mark was set after the connect: a command that went `pending` between the device's connect and its
 *   SUBSCRIBE, which the connect's listing could not see.
 * A device with no mark costs no listing.
 *
 * @example
 * await recordPresenceAndRequeue(deps, "SN0001", { kind: "connected", connectedAt: Date.now() });
 */
export function recordPresenceAndRequeue(
  deps: PresenceDeps & RequeueDeps,
  sn: string,
  signal: PresenceSignal,
): Promise<PresenceView | undefined> {
  return recordPresence(deps, sn, signal, {
    async onChange(view, _version, waiting) {
      if (view.online && waiting?.mayWait !== false)
        await requeueWaiting(deps, sn, String(view.since), waiting);
    },
    async onConfirm(view, waiting) {
      const markedAt = waiting?.markedAt;
      if (!view.online || !isSubscribedStatus(signal, view) || !markedSince(markedAt, view.since)) return;
      // Its own occasion: the connect's re-queue of the same command is within SQS's deduplication window.
      await requeueWaiting(deps, sn, `${view.since}-${markedAt}`, waiting);
    },
  });
}

/** An `st` online within {@link SUBSCRIBED_ST_WINDOW_MS} of the connect (both on EMQX's clock). */
const isSubscribedStatus = (signal: PresenceSignal, view: PresenceView) =>
  signal.kind === "status" && signal.online && signal.at - view.since <= SUBSCRIBED_ST_WINDOW_MS;

/** Whether the mark was set after `since` (within the clocks' margin). */
function markedSince(markedAt: string | undefined, since: number): markedAt is string {
  return markedAt !== undefined && Date.parse(markedAt) > since - CLOCK_MARGIN_MS;
}

/**
 * Queues the device's `pending` commands again under `occasion` (their deduplication ids), then lifts
 * the "commands may wait" mark if the listing was made long enough after it to have seen all it stands
 * for. A command re-queued here that goes `pending` again is marked again by the publisher.
 */
async function requeueWaiting(
  deps: RequeueDeps,
  sn: string,
  occasion: string,
  waiting: CommandsWaiting | undefined,
): Promise<void> {
  const listedAt = deps.clock.now().getTime();
  await requeuePending(deps, sn, occasion);
  // Listed with nothing to tell: from now on, no mark means no command waits.
  if (!waiting) await deps.commands.markNoneWaiting(sn);
  const markedAt = waiting?.markedAt;
  // A younger mark may stand for a command the listing could not see yet: the next connect looks again.
  if (markedAt === undefined || listedAt - Date.parse(markedAt) < WAIT_MARK_SETTLE_MS) return;
  // Only later listings depend on it, so a failure here need not fail the signal.
  await deps.commands.clearWaiting(sn, markedAt).catch(() => undefined);
}
