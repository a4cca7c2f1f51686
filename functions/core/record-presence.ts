import { isDeepStrictEqual } from "node:util";
import { TransientError } from "./errors.ts";
import { stableEventId } from "./event-id.ts";
import type { FanoutMessage } from "./fanout.ts";
import type { CommandsWaiting, EventQueue, PresenceStore } from "./ports.ts";
import {
  type AnnouncedPresence,
  derivePresence,
  EMPTY_PRESENCE,
  mergeSignal,
  type PresenceSignal,
  type PresenceState,
  type PresenceView,
  sameView,
} from "./presence.ts";

export interface PresenceDeps {
  presence: PresenceStore;
  events: EventQueue;
}

/**
 * What runs with a signal, before it is answered; each must be safe to repeat. `waiting` is what the
 * presence read found (absent: the store cannot tell).
 */
export interface PresenceHooks {
  /**
   * The derived presence changed; runs before the change is announced. `version` is the announcement's
   * version: unlike `view.since`, it is never the same for two changes.
   */
  onChange?: (view: PresenceView, version: number, waiting?: CommandsWaiting) => Promise<void>;
  /** The signal was recorded (or was already) and the presence stays what it was, e.g. an `st` online after its connect. */
  onConfirm?: (view: PresenceView, waiting?: CommandsWaiting) => Promise<void>;
}

const MAX_WRITE_ATTEMPTS = 8;

/**
 * Merges one signal into the device's presence and announces the result when it changed: one read
 * (which also tells whether commands may wait for the device), one conditional write, one send per
 * change; one read and nothing else when nothing changed, unless the signal is the retry of the one
 * that caused the last announcement (below). `hooks` may add their own calls.
 *
 * The write records the announcement (view, version, the signal that caused it) before the send, so
 * the versions of the messages follow the order of the writes. A crash between the write and the send
 * is repaired by the retry of the same signal, which finds itself as the cause and sends the same
 * message again (same `eventId`). See docs/presence.md.
 */
export async function recordPresence(
  deps: PresenceDeps,
  sn: string,
  incoming: PresenceSignal,
  hooks: PresenceHooks = {},
): Promise<PresenceView | undefined> {
  const signal = withoutUndefined(incoming);
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const { current, waiting } = await deps.presence.read(sn);
    const before = current?.state ?? EMPTY_PRESENCE;
    const version = current?.version ?? 0;
    const merged = mergeSignal(before, signal);
    if (isDeepStrictEqual(merged, before)) {
      if (isDeepStrictEqual(before.announced?.cause, signal))
        await announce(deps, sn, before.announced, hooks, waiting);
      else await confirm(derivePresence(before), hooks, waiting);
      return derivePresence(before);
    }
    const view = derivePresence(merged);
    const changed = view !== undefined && !sameView(view, before.announced);
    // The stored item's version after this write; it only grows, so it orders the announcements.
    const next = changed
      ? { ...merged, announced: { ...view, version: version + 1, cause: signal } }
      : merged;
    if (!(await deps.presence.save(sn, next, version))) continue;
    if (changed) await announce(deps, sn, next.announced, hooks, waiting);
    else await confirm(view, hooks, waiting);
    return view;
  }
  throw new TransientError(`presence of ${sn} kept changing under ${MAX_WRITE_ATTEMPTS} concurrent writes`);
}

async function announce(
  deps: PresenceDeps,
  sn: string,
  announced: PresenceState["announced"],
  hooks: PresenceHooks,
  waiting: CommandsWaiting | undefined,
): Promise<void> {
  // Items written before versions existed have none; their next change gets one.
  if (announced?.version === undefined) return;
  const view = viewOf(announced);
  await hooks.onChange?.(view, announced.version, waiting);
  await deps.events.send([presenceMessage(sn, view, announced.version)]);
}

async function confirm(
  view: PresenceView | undefined,
  hooks: PresenceHooks,
  waiting: CommandsWaiting | undefined,
): Promise<void> {
  if (view) await hooks.onConfirm?.(view, waiting);
}

/**
 * The fan-out message of an announced view. `data.version` grows with every announcement of the device,
 * and is part of `eventId`, so a correction never reuses the `eventId` of what it corrects: consumers
 * keep, per device, the message with the highest version.
 */
export function presenceMessage(sn: string, view: PresenceView, version: number): FanoutMessage {
  const { online, since, reason, connectedAt } = view;
  return {
    type: "presence",
    eventId: stableEventId("presence", sn, version, online, since, reason),
    sn,
    at: new Date(since).toISOString(),
    data: {
      online,
      since: new Date(since).toISOString(),
      reason,
      version,
      ...(connectedAt ? { connected_at: new Date(connectedAt).toISOString() } : {}),
    },
  };
}

function viewOf(announced: AnnouncedPresence): PresenceView {
  const { online, since, reason, connectedAt } = announced;
  return connectedAt === undefined ? { online, since, reason } : { online, since, reason, connectedAt };
}

/** The signal as it round-trips through the store, so a retry compares equal to the stored cause. */
function withoutUndefined(signal: PresenceSignal): PresenceSignal {
  return Object.fromEntries(
    Object.entries(signal).filter(([, value]) => value !== undefined),
  ) as PresenceSignal;
}
