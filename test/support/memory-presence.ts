import type { FanoutMessage } from "../../functions/core/fanout.ts";
import type { EventQueue, PresenceStore, VersionedPresence } from "../../functions/core/ports.ts";
import type { PresenceState } from "../../functions/core/presence.ts";

/** Counts of the calls a port received, to check what one presence change costs. */
export interface CallCounts {
  reads: number;
  writes: number;
  sends: number;
}

/**
 * PresenceStore with the same contract as the DynamoDB one (a conditional write on the version), kept
 * in memory. Items are copied in and out as DynamoDB would, so no caller shares an object with the store.
 */
export class MemoryPresenceStore implements PresenceStore {
  readonly items = new Map<string, VersionedPresence>();
  readonly counts = { reads: 0, writes: 0 };

  async get(sn: string): Promise<VersionedPresence | undefined> {
    this.counts.reads++;
    const item = this.items.get(sn);
    return item && structuredClone(item);
  }

  async save(sn: string, state: PresenceState, expectedVersion: number): Promise<boolean> {
    this.counts.writes++;
    if ((this.items.get(sn)?.version ?? 0) !== expectedVersion) return false;
    this.items.set(sn, { state: structuredClone(state), version: expectedVersion + 1 });
    return true;
  }
}

/** EventQueue kept in memory; `failNext` makes the next sends fail as an SQS outage would. */
export class MemoryEventQueue implements EventQueue {
  readonly sent: FanoutMessage[] = [];
  readonly counts = { sends: 0 };
  failNext = 0;

  async send(messages: FanoutMessage[]): Promise<void> {
    this.counts.sends++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("events queue unavailable (injected)");
    }
    this.sent.push(...structuredClone(messages));
  }
}
