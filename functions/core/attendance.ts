import { normalizeAttTime } from "./att-time.ts";
import { mapWithConcurrency } from "./concurrency.ts";
import { stableEventId } from "./event-id.ts";
import type { FanoutMessage } from "./fanout.ts";
import type { AttendanceStore, Clock, EventQueue, StoredAttendance, Transport } from "./ports.ts";
import type { AttendanceRecord } from "./schemas/attendance.ts";

/** Writes in flight for one offline backlog; enough to hide latency, few enough not to self-throttle. */
const STORE_CONCURRENCY = 16;

export interface AttendanceDeps {
  attendance: AttendanceStore;
  events: EventQueue;
  clock: Clock;
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
  /** Punches seen before; fanned out now only if an earlier attempt stopped before doing so. */
  duplicates: string[];
}

/** The id every transport and every retry gives the same punch. */
export function attendanceEventId(sn: string, userId: string, attTimeNormalized: string, attState: number) {
  return stableEventId("attendance", sn, userId, attTimeNormalized, attState);
}

/**
 * Stores each punch once per natural key and puts it on the events queue.
 *
 * A punch stored by an earlier attempt that failed before its fan-out is fanned out now, with the same
 * `eventId`; so a retry after any crash completes the work and never stores twice.
 */
export async function recordAttendance(
  deps: AttendanceDeps,
  input: AttendanceInput,
): Promise<AttendanceOutcome> {
  const receivedAt = deps.clock.now().toISOString();
  const outcome: AttendanceOutcome = { stored: [], duplicates: [] };
  const owed: StoredAttendance[] = [];
  await mapWithConcurrency(input.records, STORE_CONCURRENCY, async (record) => {
    const candidate = toStored(record, input, receivedAt);
    const result = await deps.attendance.putIfAbsent(candidate);
    const stored = result.created ? candidate : result.existing;
    (result.created ? outcome.stored : outcome.duplicates).push(stored.eventId);
    if (!stored.fannedOutAt) owed.push(stored);
  });
  if (owed.length === 0) return outcome;
  await deps.events.send(owed.map(attendanceMessage));
  const at = deps.clock.now().toISOString();
  await Promise.all(owed.map((record) => deps.attendance.markFannedOut(record, at)));
  return outcome;
}

function toStored(record: AttendanceRecord, input: AttendanceInput, receivedAt: string): StoredAttendance {
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
