import * as v from "valibot";
import type { PresenceRead, PresenceStore, VersionedPresence } from "../../core/ports.ts";
import { derivePresence, type PresenceState } from "../../core/presence.ts";
import { itemsByKeys } from "./batch-get.ts";
import { StoredPresenceItem } from "./items.ts";
import { DEVICES_INDEX_KEY, keys } from "./keys.ts";
import { TableAdapter } from "./table-adapter.ts";

/** Presence in DynamoDB, one item per device, guarded by a version number. */
export class DynamoDbPresenceStore extends TableAdapter implements PresenceStore {
  /**
   * The presence item and the device's command hold mark (functions/adapters/dynamodb/command-store.ts),
   * both in the device's partition, in one consistent BatchGetItem: a connect then needs no Query for
   * pending commands unless the mark is there.
   */
  async read(sn: string): Promise<PresenceRead> {
    const hold = { pk: keys.device(sn), sk: keys.commandHold() };
    const items = await itemsByKeys(this.documents, this.tableName, "presence", [presenceKey(sn), hold]);
    const read: PresenceRead = { commandsMayWait: false };
    for (const item of items) {
      if (item.sk === hold.sk) read.commandsMayWait = true;
      else read.current = versioned(item);
    }
    return read;
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

function versioned(item: Record<string, unknown>): VersionedPresence {
  const { state, version } = v.parse(StoredPresenceItem, item);
  return { state, version };
}

/** The key of a device's presence item (the readers' `get` reads the same one). */
export function presenceKey(sn: string) {
  return { pk: keys.device(sn), sk: keys.presence() };
}
