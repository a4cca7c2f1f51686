import { randomUUID } from "node:crypto";
import { normalizeAttTime } from "./att-time.ts";
import { mapWithConcurrency } from "./concurrency.ts";
import { stableEventId } from "./event-id.ts";
import type { FanoutMessage } from "./fanout.ts";
import type {
  AttendanceStore,
  Clock,
  EventQueue,
  PutAttendanceResult,
  StoredAttendance,
  Transport,
} from "./ports.ts";
import { RecentlySent } from "./recently-sent.ts";
import { FanoutRefusedError, RecordRefusedError } from "./refusal.ts";
import type { AttendanceRecord } from "./schemas/attendance.ts";

/** Writes in flight for one offline backlog; enough to hide latency, few enough not to self-throttle. */
const STORE_CONCURRENCY = 16;

/**
 * How long after a punch was stored a duplicate of it is sent again, unless this instance sent it: a
 * punch's first attempt may have died between its write and its send, and only a retry can finish it.
 * Longer than the bridge's EMQX `request_ttl` (10 min, docs/emqx.md §7.2), the longest EMQX retries.
 */
export const RESEND_WINDOW_MS = 15 * 60_000;

export interface AttendanceDeps {
  attendance: AttendanceStore;
  events: EventQueue;
  clock: Clock;
}

/**
 * What this warm instance sent lately, per events queue (the queue object lives as long as the instance):
 * a duplicate of such a punch costs only its failed write.
 */
const sentTo = new WeakMap<EventQueue, RecentlySent>();

function recentlySent(events: EventQueue): RecentlySent {
  const known = sentTo.get(events);
  if (known) return known;
  const memory = new RecentlySent();
  sentTo.set(events, memory);
  return memory;
}

export interface AttendanceInput {
  sn: string;
  records: AttendanceRecord[];
  transport: Transport;
  emqxId?: string;
}

export interface AttendanceOutcome {
  /** New punches, stored and fanned out. */
  stored: string[];
  /** Punches seen before; sent again if they were stored lately and this instance did not send them. */
  duplicates: string[];
  /** Punches the store or the events queue refused for what they hold: neither stored nor sent. */
  refused: RefusedRecord[];
}

export interface RefusedRecord {
  /** Index of the punch in `AttendanceInput.records`. */
  position: number;
  reason: "refused_by_store" | "refused_by_queue";
  message: string;
}

/** A punch to store, and where it was in the input. */
interface Candidate {
  record: StoredAttendance;
  position: number;
}

/** A punch this call sends: one it stored (`ours`), or a recent duplicate whose send may have been cut short. */
interface Owed extends Candidate {
  ours: boolean;
}

/** The id every transport and every retry gives the same punch. */
export function attendanceEventId(sn: string, userId: string, attTimeNormalized: string, attState: number) {
  return stableEventId("attendance", sn, userId, attTimeNormalized, attState);
}

/**
 * Stores each punch once per natural key and puts it on the events queue: one conditional write per
 * punch, then one send for the backlog. Per punch, "stored" and "on the queue" go together: a punch the
 * store refuses is not stored; one the queue refuses is removed again; both come back in `refused` (for
 * the quarantine) while the others go on. When the send fails, this call's writes are removed again
 * before the error is thrown, so the sender's retry finds the punches new.
 *
 * A crash between the write and the send leaves a stored punch that is not on the queue; the retry finds
 * it as a duplicate stored within {@link RESEND_WINDOW_MS} and sends it, with the same `eventId`. So any
 * retry within the window completes the work and never stores twice; consumers drop repeats by `eventId`.
 */
export async function recordAttendance(
  deps: AttendanceDeps,
  input: AttendanceInput,
): Promise<AttendanceOutcome> {
  const receivedAt = deps.clock.now().toISOString();
  const outcome: AttendanceOutcome = { stored: [], duplicates: [], refused: [] };
  // The same punch twice in one backlog is one punch, stored and sent once.
  const unique = new Map<string, Candidate>();
  const storedBy = randomUUID();
  for (const [position, item] of input.records.entries()) {
    const record = { ...toStored(item, input, receivedAt), storedBy };
    if (unique.has(record.eventId)) outcome.duplicates.push(record.eventId);
    else unique.set(record.eventId, { record, position });
  }
  const owed: Owed[] = [];
  await mapWithConcurrency([...unique.values()], STORE_CONCURRENCY, async (candidate) => {
    const owing = await storeOne(deps, candidate, outcome);
    if (owing) owed.push(owing);
  });
  // In the device's order: the queue keeps it for consumers.
  owed.sort((a, b) => a.position - b.position);
  if (owed.length) await fanOut(deps, owed, outcome);
  outcome.refused.sort((a, b) => a.position - b.position);
  return outcome;
}

/** Stores one punch; returns it when this call must send it. A refusal is noted, an outage thrown. */
async function storeOne(
  deps: AttendanceDeps,
  candidate: Candidate,
  outcome: AttendanceOutcome,
): Promise<Owed | undefined> {
  let result: PutAttendanceResult;
  try {
    result = await deps.attendance.putIfAbsent(candidate.record);
  } catch (error) {
    if (!(error instanceof RecordRefusedError)) throw error;
    outcome.refused.push({
      position: candidate.position,
      reason: "refused_by_store",
      message: error.message,
    });
    return undefined;
  }
  // Our own write, seen again because the SDK retried a put whose first attempt landed (timed out late).
  if (result.created || result.existing.storedBy === candidate.record.storedBy) {
    outcome.stored.push(candidate.record.eventId);
    return { ...candidate, ours: true };
  }
  outcome.duplicates.push(result.existing.eventId);
  if (!mayBeUnsent(deps, result.existing)) return undefined;
  return { record: result.existing, position: candidate.position, ours: false };
}

/**
 * A stored punch whose send nobody here has seen succeed: stored within the window (its first attempt
 * may have died before sending, or may be sending right now) and not sent by this instance. Sent again,
 * so a 2xx still means "on the queue"; the queue or consumers drop the repeat.
 */
function mayBeUnsent(deps: AttendanceDeps, existing: StoredAttendance): boolean {
  if (recentlySent(deps.events).has(existing.eventId)) return false;
  const age = deps.clock.now().getTime() - Date.parse(existing.receivedAt);
  return !(age > RESEND_WINDOW_MS);
}

/** Sends the owed punches; removes (and reports) the ones the queue refused, or this call's writes if it failed. */
async function fanOut(deps: AttendanceDeps, owed: Owed[], outcome: AttendanceOutcome): Promise<void> {
  const refused = new Map<string, string>();
  try {
    await deps.events.send(owed.map((item) => attendanceMessage(item.record)));
  } catch (error) {
    if (!(error instanceof FanoutRefusedError)) {
      await withdraw(
        deps,
        owed.filter((item) => item.ours),
      );
      throw error;
    }
    for (const message of error.refused) refused.set(message.eventId, message.reason);
  }
  const sent = owed.filter(({ record }) => !refused.has(record.eventId));
  const memory = recentlySent(deps.events);
  for (const { record } of sent) memory.add(record.eventId);
  const rejected = owed.filter(({ record }) => refused.has(record.eventId));
  await mapWithConcurrency(rejected, STORE_CONCURRENCY, async ({ record, position }) => {
    await deps.attendance.discard(record);
    outcome.refused.push({
      position,
      reason: "refused_by_queue",
      message: refused.get(record.eventId) ?? "",
    });
    outcome.stored = outcome.stored.filter((id) => id !== record.eventId);
    outcome.duplicates = outcome.duplicates.filter((id) => id !== record.eventId);
  });
}

/**
 * The send failed: this call's writes are removed again, so the retry stores and sends them as new. If
 * removing fails too, what stays is a recent duplicate, which the retry sends: the error thrown is the send's.
 */
async function withdraw(deps: AttendanceDeps, ours: Owed[]): Promise<void> {
  try {
    await mapWithConcurrency(ours, STORE_CONCURRENCY, ({ record }) => deps.attendance.discard(record));
  } catch {
    // Nothing to add: the send's error is the one to report, and the window covers what stays.
  }
}

/** The punch as stored and fanned out (`recordAttendance` adds the attempt's `storedBy`). */
export function toStored(
  record: AttendanceRecord,
  input: AttendanceInput,
  receivedAt: string,
): StoredAttendance {
  const { user_id, att_time, att_state, ...extra } = record;
  const attTimeNormalized = normalizeAttTime(att_time) as string;
  return {
    eventId: attendanceEventId(input.sn, user_id, attTimeNormalized, att_state),
    sn: input.sn,
    userId: user_id,
    attTime: att_time,
    attTimeNormalized,
    attState: att_state,
    extra,
    receivedAt,
    transport: input.transport,
    ...(input.emqxId ? { emqxId: input.emqxId } : {}),
  };
}

export function attendanceMessage(record: StoredAttendance): FanoutMessage {
  return {
    type: "attendance",
    eventId: record.eventId,
    sn: record.sn,
    at: record.attTimeNormalized,
    data: {
      ...record.extra,
      user_id: record.userId,
      att_time: record.attTime,
      att_state: record.attState,
      received_at: record.receivedAt,
      transport: record.transport,
    },
  };
}
