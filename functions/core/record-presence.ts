import { isDeepStrictEqual } from "node:util";
import { TransientError } from "./errors.ts";
import { stableEventId } from "./event-id.ts";
import type { FanoutMessage } from "./fanout.ts";
import type { EventQueue, PresenceStore } from "./ports.ts";
import {
  derivePresence,
  EMPTY_PRESENCE,
  mergeSignal,
  type PresenceSignal,
  type PresenceView,
  sameView,
} from "./presence.ts";

export interface PresenceDeps {
  presence: PresenceStore;
  events: EventQueue;
}

const MAX_WRITE_ATTEMPTS = 8;

/**
 * Merges one signal into the device's presence and announces the result when it changed.
 * Safe to retry: the merge is idempotent, and a change not yet announced is announced by the next call.
 */
export async function recordPresence(
  deps: PresenceDeps,
  sn: string,
  signal: PresenceSignal,
  /** Runs when the derived presence changed, before the change is announced. */
  onChange?: (view: PresenceView) => Promise<void>,
): Promise<PresenceView | undefined> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await deps.presence.get(sn);
    const before = current?.state ?? EMPTY_PRESENCE;
    const version = current?.version ?? 0;
    const merged = mergeSignal(before, signal);
    const view = derivePresence(merged);
    if (sameView(view, merged.announced) || !view) {
      if (isDeepStrictEqual(merged, before) || (await deps.presence.save(sn, merged, version))) return view;
      continue;
    }
    if (!(await deps.presence.save(sn, merged, version))) continue;
    await onChange?.(view);
    await deps.events.send([presenceMessage(sn, view)]);
    await deps.presence.save(sn, { ...merged, announced: view }, version + 1);
    return view;
  }
  throw new TransientError(`presence of ${sn} kept changing under ${MAX_WRITE_ATTEMPTS} concurrent writes`);
}

export function presenceMessage(sn: string, view: PresenceView): FanoutMessage {
  return {
    type: "presence",
    eventId: stableEventId("presence", sn, view.online, view.since, view.reason),
    sn,
    at: new Date(view.since).toISOString(),
    data: {
      online: view.online,
      since: new Date(view.since).toISOString(),
      reason: view.reason,
      ...(view.connectedAt ? { connected_at: new Date(view.connectedAt).toISOString() } : {}),
    },
  };
}
