import type { PresenceRead, PresenceStore, VersionedPresence } from "../../../functions/core/ports.ts";
import { derivePresence, type PresenceState } from "../../../functions/core/presence.ts";
import type { DevicePresence, DeviceReader, Page, PageRequest } from "../../../functions/core/queries.ts";
import { pageOf } from "./paging.ts";

/** Counts of the calls a port received, to check what one presence change costs. */
export interface CallCounts {
  reads: number;
  writes: number;
  sends: number;
}

/**
 * PresenceStore with the same contract as the DynamoDB one (a conditional write on the version), kept in
 * memory, and its `reader`: the API's DeviceReader over the same items (devices listed by serial number
 * with the flat `online`/`since`/`lastSeenAt` copies). Items are copied in and out as DynamoDB would, so no caller shares an object with the store.
 */
export class MemoryPresenceStore implements PresenceStore {
  readonly items = new Map<string, VersionedPresence>();
  readonly counts = { reads: 0, writes: 0 };

  /**
   * `marks`: the command store's marks, which the DynamoDB store reads with the presence item (pass the
   * MemoryCommandStore); without them the store cannot tell whether commands wait, as the port allows.
   * Like DynamoDB's, it cannot tell either for a device with no "commands may wait" item.
   */
  constructor(
    private readonly marks?: {
      waiting: Map<string, string>;
      noneWaiting: Set<string>;
      holds: Map<string, string>;
    },
  ) {}

  async read(sn: string): Promise<PresenceRead> {
    this.counts.reads++;
    const item = this.items.get(sn);
    return { ...(item ? { current: structuredClone(item) } : {}), ...this.waitingOf(sn) };
  }

  private waitingOf(sn: string): Pick<PresenceRead, "waiting"> {
    if (!this.marks) return {};
    const markedAt = this.marks.waiting.get(sn);
    if (markedAt !== undefined) return { waiting: { mayWait: true, markedAt } };
    if (!this.marks.noneWaiting.has(sn)) return {};
    return { waiting: { mayWait: this.marks.holds.has(sn) } };
  }

  async save(sn: string, state: PresenceState, expectedVersion: number): Promise<boolean> {
    this.counts.writes++;
    if ((this.items.get(sn)?.version ?? 0) !== expectedVersion) return false;
    this.items.set(sn, { state: structuredClone(state), version: expectedVersion + 1 });
    return true;
  }

  /** The devices as the API reads them (its `get` differs from the store's, hence a separate object). */
  readonly reader: DeviceReader = {
    get: async (sn) => {
      const item = this.items.get(sn);
      return item && toDevice(sn, item.state);
    },
    list: (filter, page) => this.listDevices(filter, page),
  };

  private async listDevices(filter: { online?: boolean }, page: PageRequest): Promise<Page<DevicePresence>> {
    const devices = [...this.items.entries()]
      .map(([sn, item]) => toDevice(sn, item.state))
      .filter((device) => filter.online === undefined || device.online === filter.online)
      .sort((a, b) => (a.sn < b.sn ? -1 : a.sn > b.sn ? 1 : 0));
    return pageOf(devices, (d) => d.sn, `devices|${filter.online ?? "all"}`, page.limit, page.cursor);
  }
}

function toDevice(sn: string, state: PresenceState): DevicePresence {
  const view = derivePresence(state);
  return {
    sn,
    state: structuredClone(state),
    ...(view ? { online: view.online, since: new Date(view.since).toISOString() } : {}),
    lastSeenAt: new Date(state.lastSeenAt).toISOString(),
  };
}
