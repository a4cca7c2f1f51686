import type { QuarantineStore } from "../../../functions/core/ports.ts";
import type { QuarantineEntry } from "../../../functions/core/quarantine.ts";
import type { Page, PageRequest, QuarantineReader } from "../../../functions/core/queries.ts";
import { pageOf } from "./paging.ts";

/** The quarantine in memory, written as the store is and listed per day, newest first, as the reader is. */
export class MemoryQuarantineStore implements QuarantineStore, QuarantineReader {
  readonly entries: QuarantineEntry[] = [];
  readonly counts = { puts: 0, batches: 0 };

  async put(entry: QuarantineEntry): Promise<void> {
    this.counts.puts++;
    this.entries.push(structuredClone(entry));
  }

  async putMany(entries: QuarantineEntry[]): Promise<void> {
    this.counts.batches++;
    this.entries.push(...structuredClone(entries));
  }

  async byDay(day: string, page: PageRequest): Promise<Page<QuarantineEntry>> {
    const keyOf = (e: QuarantineEntry) => `${e.receivedAt}#${e.id}`;
    const ofDay = this.entries
      .filter((e) => e.day === day)
      .sort((a, b) => (keyOf(a) < keyOf(b) ? 1 : keyOf(a) > keyOf(b) ? -1 : 0));
    const result = pageOf(ofDay, keyOf, `quarantine|${day}`, page.limit, page.cursor, true);
    return { ...result, items: result.items.map((e) => structuredClone(e)) };
  }
}
