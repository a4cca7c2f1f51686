import type { FanoutMessage } from "./fanout.ts";
import type { PresenceState } from "./presence.ts";
import type { QuarantineEntry } from "./quarantine.ts";

/** How a message reached the bridge. */
export type Transport = "mqtt" | "http";

/** One punch as stored: the fields that identify it, what the device sent, and where it came from. */
export interface StoredAttendance {
  eventId: string;
  sn: string;
  userId: string;
  /** As the device sent it. */
  attTime: string;
  /** Sortable form used in keys (see `normalizeAttTime`). */
  attTimeNormalized: string;
  attState: number;
  /** Every field the device sent besides the three above. */
  extra: Record<string, unknown>;
  receivedAt: string;
  transport: Transport;
  emqxId?: string;
  /** When the caller that owes the fan-out took it on; a claim older than the lease may be taken over. */
  fanoutClaimAt?: string;
  /** Set once the punch is on the events queue; absent means a fan-out is still owed. */
  fannedOutAt?: string;
  /** The call that stored it: a put the SDK retried after its first attempt did land knows its own write. */
  storedBy?: string;
}

export type PutAttendanceResult = { created: true } | { created: false; existing: StoredAttendance };

/** `claimed`: this caller now owes the fan-out; `done`: it happened; `busy`: another caller holds a fresh claim. */
export type FanoutClaim = "claimed" | "done" | "busy";

/** Attendance storage, keyed by the natural key (sn, user_id, att_time, att_state). */
export interface AttendanceStore {
  /** Stores the punch, with a fan-out claim at `fanoutClaimAt`, unless one with the same natural key exists. */
  putIfAbsent(record: StoredAttendance): Promise<PutAttendanceResult>;
  /** Takes over the fan-out of a stored punch if nobody did it and no claim is newer than `staleBefore`. */
  claimFanout(record: StoredAttendance, now: string, staleBefore: string): Promise<FanoutClaim>;
  markFannedOut(record: StoredAttendance, at: string): Promise<void>;
  /** Removes a punch the events queue refused (it is quarantined instead), unless it was fanned out. */
  discard(record: StoredAttendance): Promise<void>;
}

/** The SQS "events" queue the user's applications read. */
export interface EventQueue {
  send(messages: FanoutMessage[]): Promise<void>;
}

export interface VersionedPresence {
  state: PresenceState;
  version: number;
}

/** Per-device presence, written with optimistic locking so concurrent signals never overwrite each other. */
export interface PresenceStore {
  get(sn: string): Promise<VersionedPresence | undefined>;
  /** Writes `state` if the stored version is still `expectedVersion` (0 = no item yet); false on a conflict. */
  save(sn: string, state: PresenceState, expectedVersion: number): Promise<boolean>;
}

/** Where rejected input is kept for operators. */
export interface QuarantineStore {
  put(entry: QuarantineEntry): Promise<void>;
  /** Keeps many at once (the bad records of one backlog) in few writes; all are kept, or it throws. */
  putMany(entries: QuarantineEntry[]): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
