import * as v from "valibot";
import type { CommandsWaiting, PresenceRead, PresenceStore } from "../../core/ports.ts";
import { derivePresence, type PresenceState } from "../../core/presence.ts";
import { itemsByKeys } from "./batch-get.ts";
import { StoredPresenceItem, StoredWaitingItem } from "./items.ts";
import { DEVICES_INDEX_KEY, keys } from "./keys.ts";
import { TableAdapter } from "./table-adapter.ts";

/** Presence in DynamoDB, one item per device, guarded by a version number. */
export class DynamoDbPresenceStore extends TableAdapter implements PresenceStore {
  /**
   * The presence item and the device's two command marks (functions/adapters/dynamodb/command-store.ts),
   * all in the device's partition, in one consistent BatchGetItem: a connect lists pending commands only
   * when a mark is there. Without a "commands may wait" item (a device new, or seen only by a version
   * before the marks, which could leave a `pending` command unmarked) it cannot tell: the device's next
   * coming online lists, and then creates the item (`markNoneWaiting`).
   */
  async read(sn: string): Promise<PresenceRead> {
    const device = keys.device(sn);
    const wanted = [presenceKey(sn), { pk: device, sk: WAITING_SK }, { pk: device, sk: HOLD_SK }];
    const read: PresenceRead = {};
    const waiting: CommandsWaiting = { mayWait: false };
    let tracked = false;
    for (const item of await itemsByKeys(this.documents, this.tableName, "presence", wanted)) {
      if (item.sk === WAITING_SK) {
        tracked = true;
        const { markedAt } = v.parse(StoredWaitingItem, item);
        if (markedAt !== undefined) Object.assign(waiting, { mayWait: true, markedAt });
      } else if (item.sk === HOLD_SK) {
        waiting.mayWait = true;
      } else {
        const { state, version } = v.parse(StoredPresenceItem, item);
        read.current = { state, version };
      }
    }
    return tracked ? { ...read, waiting } : read;
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

const WAITING_SK = keys.commandsWaiting();
const HOLD_SK = keys.commandHold();

/** The key of a device's presence item (the readers' `get` reads the same one). */
export function presenceKey(sn: string) {
  return { pk: keys.device(sn), sk: keys.presence() };
}
