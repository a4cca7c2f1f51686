import { normalizeAttTime } from "./att-time.ts";
import { mapWithConcurrency } from "./concurrency.ts";
import { stableEventId } from "./event-id.ts";
import type { FanoutMessage } from "./fanout.ts";
import type { AttendanceStore, Clock, EventQueue, StoredAttendance, Transport } from "./ports.ts";
import type { AttendanceRecord } from "./schemas/attendance.ts";

/** Writes in flight for one offline backlog; enough to hide latency, few enough not to self-throttle. */
const STORE_CONCURRENCY = 16;

/** How long a fan-out claim keeps others waiting; longer than an SQS send, shorter than the deadline. */
export const FANOUT_CLAIM_LEASE_MS = 3_000;
const FANOUT_POLL_MS = 100;

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
  const candidates = input.records.map((record) => ({
    ...toStored(record, input, receivedAt),
    fanoutClaimAt: receivedAt,
  }));
  // The same punch twice in one backlog is one punch: storing both copies would make the second wait
  // for the first one's fan-out claim, which this very call holds.
  const unique = new Map<string, StoredAttendance>();
  for (const candidate of candidates) {
    if (unique.has(candidate.eventId)) outcome.duplicates.push(candidate.eventId);
    else unique.set(candidate.eventId, candidate);
  }
  await mapWithConcurrency([...unique.values()], STORE_CONCURRENCY, async (candidate) => {
    const result = await deps.attendance.putIfAbsent(candidate);
    if (result.created) {
      outcome.stored.push(candidate.eventId);
      owed.push(candidate);
      return;
    }
    outcome.duplicates.push(result.existing.eventId);
    if (result.existing.fannedOutAt) return;
    if (await fanoutOwedByUs(deps, result.existing)) owed.push(result.existing);
  });
  if (owed.length === 0) return outcome;
  await deps.events.send(owed.map(attendanceMessage));
  const at = deps.clock.now().toISOString();
  await Promise.all(owed.map((record) => deps.attendance.markFannedOut(record, at)));
  return outcome;
}

/**
 * A duplicate of a punch not yet fanned out: either its first attempt is still under way (wait for it,
 * so the queue gets one message) or it died after storing (take the fan-out over once its claim is stale).
 * Only returns once the fan-out is done or ours, so a 2xx always means "on the queue".
 */
async function fanoutOwedByUs(deps: AttendanceDeps, existing: StoredAttendance): Promise<boolean> {
  for (;;) {
    const now = deps.clock.now();
    const staleBefore = new Date(now.getTime() - FANOUT_CLAIM_LEASE_MS).toISOString();
    const claim = await deps.attendance.claimFanout(existing, now.toISOString(), staleBefore);
    if (claim !== "busy") return claim === "claimed";
    await new Promise((resolve) => setTimeout(resolve, FANOUT_POLL_MS));
  }
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
