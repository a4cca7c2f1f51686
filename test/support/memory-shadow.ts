import type { Shadow } from "../../functions/core/shadow/document.ts";
import type { ShadowStore } from "../../functions/core/shadow/ports.ts";

/** ShadowStore with the DynamoDB one's contract (a write only at the version read), in memory; copies in and out. */
export class MemoryShadowStore implements ShadowStore {
  readonly items = new Map<string, Shadow>();
  readonly counts = { reads: 0, writes: 0 };

  async get(sn: string): Promise<Shadow | undefined> {
    this.counts.reads++;
    const item = this.items.get(sn);
    return item && structuredClone(item);
  }

  async save(shadow: Shadow, expectedVersion: number): Promise<boolean> {
    this.counts.writes++;
    if ((this.items.get(shadow.sn)?.version ?? 0) !== expectedVersion) return false;
    this.items.set(shadow.sn, structuredClone(shadow));
    return true;
  }

  async markSynced(sn: string, version: number): Promise<void> {
    this.counts.writes++;
    const item = this.items.get(sn);
    if (item && (item.syncedVersion ?? 0) < version) item.syncedVersion = version;
  }
}
