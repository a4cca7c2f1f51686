import type {
  AttendanceStore,
  PutAttendanceResult,
  StoredAttendance,
} from "../../../functions/core/ports.ts";
import type { AttendanceReader, Page, PageRequest } from "../../../functions/core/queries.ts";
import type { TimeWindow } from "../../../functions/core/time-window.ts";
import { pageOf } from "./paging.ts";

/**
 * AttendanceStore and AttendanceReader with the DynamoDB ones' contract, in memory: a conditional put that
 * returns the stored punch when it fails, a delete conditional on `storedBy`, and reads in the same order
 * (by device: time, user, state; by user: time, device). Items are copied in and out, as DynamoDB would.
 */
export class MemoryAttendanceStore implements AttendanceStore, AttendanceReader {
  /** By eventId, which is one-to-one with the natural key. */
  readonly items = new Map<string, StoredAttendance>();
  readonly counts = { puts: 0, discards: 0 };

  async putIfAbsent(record: StoredAttendance): Promise<PutAttendanceResult> {
    this.counts.puts++;
    const existing = this.items.get(record.eventId);
    if (existing) return { created: false, existing: structuredClone(existing) };
    this.items.set(record.eventId, structuredClone(record));
    return { created: true };
  }

  async discard(record: StoredAttendance): Promise<void> {
    this.counts.discards++;
    if (this.items.get(record.eventId)?.storedBy === record.storedBy) this.items.delete(record.eventId);
  }

  async byDevice(sn: string, window: TimeWindow, page: PageRequest): Promise<Page<StoredAttendance>> {
    const mine = this.within(window).filter((r) => r.sn === sn);
    return this.page(mine, deviceKey, `device|${sn}|${window.from}|${window.to}`, page);
  }

  async byUser(userId: string, window: TimeWindow, page: PageRequest): Promise<Page<StoredAttendance>> {
    const theirs = this.within(window).filter((r) => r.userId === userId);
    return this.page(theirs, userKey, `user|${userId}|${window.from}|${window.to}`, page);
  }

  async all(window: TimeWindow, page: PageRequest): Promise<Page<StoredAttendance>> {
    const every = (r: StoredAttendance) => `${r.sn}#${deviceKey(r)}`;
    return this.page(this.within(window), every, `all|${window.from}|${window.to}`, page);
  }

  private within(window: TimeWindow): StoredAttendance[] {
    // The adapters' upper bound is `${to}~`: every key starting with `to` is inside.
    return [...this.items.values()].filter(
      (r) => r.attTimeNormalized >= window.from && r.attTimeNormalized <= `${window.to}~`,
    );
  }

  private page(
    records: StoredAttendance[],
    keyOf: (r: StoredAttendance) => string,
    query: string,
    page: PageRequest,
  ): Page<StoredAttendance> {
    const sorted = records.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
    const result = pageOf(sorted, keyOf, query, page.limit, page.cursor);
    return { ...result, items: result.items.map((r) => structuredClone(r)) };
  }
}

const deviceKey = (r: StoredAttendance) => `${r.attTimeNormalized}#${r.userId}#${r.attState}`;
const userKey = (r: StoredAttendance) => `${r.attTimeNormalized}#${r.sn}`;
