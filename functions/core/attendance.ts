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
import { FanoutRefusedError, RecordRefusedError } from "./refusal.ts";
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

/** The id every transport and every retry gives the same punch. */
export function attendanceEventId(sn: string, userId: string, attTimeNormalized: string, attState: number) {
  return stableEventId("attendance", sn, userId, attTimeNormalized, attState);
}

/**
 * Stores each punch once per natural key and puts it on the events queue: per punch, "stored" and
 * "fanned out" go together. A punch the store refuses is not stored; one the queue refuses is removed
 * again; both come back in `refused` (for the quarantine) while the others go on.
 *
 * A punch stored by an earlier attempt that failed before its fan-out is fanned out now, with the same
 * `eventId`; so a retry after any crash completes the work and never stores twice.
 */
export async function recordAttendance(
  deps: AttendanceDeps,
  input: AttendanceInput,
): Promise<AttendanceOutcome> {
  const receivedAt = deps.clock.now().toISOString();
  const outcome: AttendanceOutcome = { stored: [], duplicates: [], refused: [] };
  // The same punch twice in one backlog is one punch: storing both copies would make the second wait
  // for the first one's fan-out claim, which this very call holds.
  const unique = new Map<string, Candidate>();
  const storedBy = randomUUID();
  for (const [position, item] of input.records.entries()) {
    const record = { ...toStored(item, input, receivedAt), fanoutClaimAt: receivedAt, storedBy };
    if (unique.has(record.eventId)) outcome.duplicates.push(record.eventId);
    else unique.set(record.eventId, { record, position });
  }
  const owed: Candidate[] = [];
  await mapWithConcurrency([...unique.values()], STORE_CONCURRENCY, async (candidate) => {
    const claimed = await storeOne(deps, candidate, outcome);
    if (claimed) owed.push(claimed);
  });
  if (owed.length) await fanOut(deps, owed, outcome);
  outcome.refused.sort((a, b) => a.position - b.position);
  return outcome;
}

/** Stores one punch; returns it when this call owes its fan-out. A refusal is noted, an outage thrown. */
async function storeOne(
  deps: AttendanceDeps,
  candidate: Candidate,
  outcome: AttendanceOutcome,
): Promise<Candidate | undefined> {
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
    return candidate;
  }
  outcome.duplicates.push(result.existing.eventId);
  if (result.existing.fannedOutAt) return undefined;
  const ours = await fanoutOwedByUs(deps, result.existing);
  return ours ? { record: result.existing, position: candidate.position } : undefined;
}

/** Sends the owed punches; marks the sent ones, removes (and reports) the ones the queue refused. */
async function fanOut(deps: AttendanceDeps, owed: Candidate[], outcome: AttendanceOutcome): Promise<void> {
  const refused = new Map<string, string>();
  try {
    await deps.events.send(owed.map((candidate) => attendanceMessage(candidate.record)));
  } catch (error) {
    if (!(error instanceof FanoutRefusedError)) throw error;
    for (const message of error.refused) refused.set(message.eventId, message.reason);
  }
  const at = deps.clock.now().toISOString();
  await mapWithConcurrency(owed, STORE_CONCURRENCY, async ({ record, position }) => {
    const reason = refused.get(record.eventId);
    if (reason === undefined) return deps.attendance.markFannedOut(record, at);
    await deps.attendance.discard(record);
    outcome.refused.push({ position, reason: "refused_by_queue", message: reason });
    outcome.stored = outcome.stored.filter((id) => id !== record.eventId);
    outcome.duplicates = outcome.duplicates.filter((id) => id !== record.eventId);
  });
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
