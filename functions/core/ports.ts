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
  /** The call that stored it: a put the SDK retried after its first attempt did land knows its own write. */
  storedBy?: string;
}

export type PutAttendanceResult = { created: true } | { created: false; existing: StoredAttendance };

/** Attendance storage, keyed by the natural key (sn, user_id, att_time, att_state). */
export interface AttendanceStore {
  /** Stores the punch unless one with the same natural key exists; then returns the stored one. */
  putIfAbsent(record: StoredAttendance): Promise<PutAttendanceResult>;
  /**
   * Removes a punch that will not be on the events queue (refused, or its send failed), but only the
   * write of `record.storedBy`: a later attempt's write of the same punch stays.
   */
  discard(record: StoredAttendance): Promise<void>;
}

export interface SendOptions {
  /**
   * Sends messages that were sent before (a replay) as new ones: the queue must not drop them as repeats
   * of the first send. A fresh value per call; consumers still drop the repeats they have by `eventId`.
   */
  resendId?: string;
}

/** The SQS "events" queue the user's applications read. */
export interface EventQueue {
  /** Puts the messages on the queue in the order given (per device, consumers get them in that order). */
  send(messages: FanoutMessage[], options?: SendOptions): Promise<void>;
}

export interface VersionedPresence {
  state: PresenceState;
  version: number;
}

/**
 * Whether commands may be waiting for a device to come online, as the presence read found it. The
 * publisher marks a device before any of its commands becomes `pending` (`CommandStore.markWaiting`).
 */
export interface CommandsWaiting {
  /**
   * False when neither the "commands may wait" mark nor the hold mark was there: the publisher marks a
   * device in every batch that leaves one of its commands `pending`, so none is waiting.
   */
  mayWait: boolean;
  /** When the publisher last set the mark, if it did: what `CommandStore.clearWaiting` takes. */
  markedAt?: string;
}

/** What {@link PresenceStore.read} finds for a device, in one request. */
export interface PresenceRead {
  /** The stored presence; absent before the device's first signal. */
  current?: VersionedPresence;
  /** Absent when the store cannot tell, which counts as "commands may wait". */
  waiting?: CommandsWaiting;
}

/** Per-device presence, written with optimistic locking so concurrent signals never overwrite each other. */
export interface PresenceStore {
  /** The device's presence and, in the same request, whether commands may be waiting for it. */
  read(sn: string): Promise<PresenceRead>;
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
