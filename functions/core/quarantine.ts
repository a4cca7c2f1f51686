import { randomUUID } from "node:crypto";
import type { Clock, QuarantineStore, Transport } from "./ports.ts";
import { toWellFormedText } from "./schemas/storable.ts";

/** How much of a rejected body is kept; the rest is dropped but its size is recorded. */
export const QUARANTINE_RAW_LIMIT = 32 * 1024;

/** What a rejection and its quarantine entry both say about the message. */
interface RejectedMessage {
  transport: Transport;
  status: number;
  reason: string;
  field: string;
  message: string;
  raw: string;
  sn?: string;
  emqxId?: string;
  ruleId?: string;
}

/** A rejected message as an operator sees it. */
export interface QuarantineEntry extends RejectedMessage {
  id: string;
  /** UTC day `YYYY-MM-DD`, the partition operators list by. */
  day: string;
  receivedAt: string;
  rawBytes: number;
  truncated: boolean;
}

export interface Rejection extends RejectedMessage {
  /** Size of the whole body when `raw` is only its first bytes (a body too large to read). */
  rawBytes?: number;
}

/** Keeps a rejected message where operators can list it; returns the entry (its `id` goes in the answer). */
export async function quarantine(
  deps: { quarantine: QuarantineStore; clock: Clock },
  rejection: Rejection,
): Promise<QuarantineEntry> {
  const entry = toEntry(rejection, deps.clock.now().toISOString());
  await deps.quarantine.put(entry);
  return entry;
}

/** Keeps many rejections (the bad records of one backlog) with batched writes; the entries, in order. */
export async function quarantineAll(
  deps: { quarantine: QuarantineStore; clock: Clock },
  rejections: Rejection[],
): Promise<QuarantineEntry[]> {
  const receivedAt = deps.clock.now().toISOString();
  const entries = rejections.map((rejection) => toEntry(rejection, receivedAt));
  if (entries.length) await deps.quarantine.putMany(entries);
  return entries;
}

function toEntry(rejection: Rejection, receivedAt: string): QuarantineEntry {
  const rawBytes = Math.max(rejection.rawBytes ?? 0, Buffer.byteLength(rejection.raw));
  const truncated = rawBytes > QUARANTINE_RAW_LIMIT;
  return {
    ...rejection,
    // Both may quote the input; a lone surrogate in them would make the quarantine itself fail.
    field: toWellFormedText(rejection.field),
    message: toWellFormedText(rejection.message),
    id: randomUUID(),
    day: receivedAt.slice(0, 10),
    receivedAt,
    raw: truncated ? Buffer.from(rejection.raw).subarray(0, QUARANTINE_RAW_LIMIT).toString() : rejection.raw,
    rawBytes,
    truncated,
  };
}
