import * as v from "valibot";
import type { PresenceStore, VersionedPresence } from "../../core/ports.ts";
import { derivePresence, type PresenceState } from "../../core/presence.ts";
import { StoredPresenceItem } from "./items.ts";
import { DEVICES_INDEX_KEY, keys } from "./keys.ts";
import { TableAdapter } from "./table-adapter.ts";

/** Presence in DynamoDB, one item per device, guarded by a version number. */
export class DynamoDbPresenceStore extends TableAdapter implements PresenceStore {
  async get(sn: string): Promise<VersionedPresence | undefined> {
    return this.itemByKey(presenceKey(sn), "presence", (item) => {
      const { state, version } = v.parse(StoredPresenceItem, item);
      return { state, version };
    });
  }

  async save(sn: string, state: PresenceState, expectedVersion: number): Promise<boolean> {
    const view = derivePresence(state);
    const item = {
      ...presenceKey(sn),
      type: "presence",
      gsi1pk: DEVICES_INDEX_KEY,
      gsi1sk: sn,
      sn,
      version: expectedVersion + 1,
      state,
      // Flat copies so operators and later queries can read presence without decoding `state`.
      online: view?.online,
      since: view ? new Date(view.since).toISOString() : undefined,
      lastSeenAt: new Date(state.lastSeenAt).toISOString(),
    };
    return this.putAtVersion(item, expectedVersion, "presence");
  }
}

/** The key of a device's presence item (the readers' `get` reads the same one). */
export function presenceKey(sn: string) {
  return { pk: keys.device(sn), sk: keys.presence() };
}
