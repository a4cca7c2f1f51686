import { randomUUID } from "node:crypto";
import type { Clock, QuarantineStore, Transport } from "./ports.ts";

/** How much of a rejected body is kept; the rest is dropped but its size is recorded. */
export const QUARANTINE_RAW_LIMIT = 32 * 1024;

/** A rejected message as an operator sees it. */
export interface QuarantineEntry {
  id: string;
  /** UTC day `YYYY-MM-DD`, the partition operators list by. */
  day: string;
  receivedAt: string;
  transport: Transport;
  status: number;
  reason: string;
  field: string;
  message: string;
  raw: string;
  rawBytes: number;
  truncated: boolean;
  sn?: string;
  emqxId?: string;
  ruleId?: string;
}

export interface Rejection {
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

/** Keeps a rejected message where operators can list it; returns the entry (its `id` goes in the answer). */
export async function quarantine(
  deps: { quarantine: QuarantineStore; clock: Clock },
  rejection: Rejection,
): Promise<QuarantineEntry> {
  const receivedAt = deps.clock.now().toISOString();
  const rawBytes = Buffer.byteLength(rejection.raw);
  const truncated = rawBytes > QUARANTINE_RAW_LIMIT;
  const entry: QuarantineEntry = {
    ...rejection,
    id: randomUUID(),
    day: receivedAt.slice(0, 10),
    receivedAt,
    raw: truncated ? Buffer.from(rejection.raw).subarray(0, QUARANTINE_RAW_LIMIT).toString() : rejection.raw,
    rawBytes,
    truncated,
  };
  await deps.quarantine.put(entry);
  return entry;
}
