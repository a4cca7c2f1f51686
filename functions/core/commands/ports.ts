import type { CommandStatus } from "../schemas/command.ts";
import type { Command, CommandQueueMessage, TransitionFields } from "./types.ts";

export type CreateCommandResult = { created: true } | { created: false; existing: Command };

export interface CommandPage {
  items: Command[];
  /** Opaque; absent on the last page. */
  cursor?: string;
}

/** What the publisher reads for one batch, in one request. */
export interface CommandBatchRead {
  /** By {@link commandKey}; a missing command is absent. */
  commands: Map<string, Command>;
  /** Per device that holds commands out of its queue order: the newest such command's `createdAt`. */
  heldThrough: Map<string, string>;
  /** Devices whose transport is `http` (see `core/device-transport.ts`): their commands wait for a poll. */
  httpOnly?: Set<string>;
}

export const commandKey = (sn: string, id: string) => `${sn}/${id}`;

/** Commands, one item per (sn, id); the truth the queue messages point to. */
export interface CommandStore {
  create(command: Command): Promise<CreateCommandResult>;
  get(sn: string, id: string): Promise<Command | undefined>;
  /** The commands `pointers` name and their devices' hold marks, read consistently in one request. */
  readBatch(pointers: readonly CommandQueueMessage[]): Promise<CommandBatchRead>;
  /**
   * Marks `sn` as holding commands created up to `through` outside their queue order (a `pending` one,
   * a recycled pointer), so its newer commands look for them first. Never lowers an existing mark.
   */
  hold(sn: string, through: string): Promise<void>;
  /** Lifts the mark, unless it no longer says `through` (something was held since). */
  release(sn: string, through: string): Promise<void>;
  /**
   * Marks `sn` as possibly holding `pending` commands, as of `at`: set before any command becomes
   * `pending`, read with the device's presence, never lifted by the publisher (see
   * `core/commands/requeue-on-connect.ts` for who lifts it and when).
   */
  markWaiting(sn: string, at: string): Promise<void>;
  /** Lifts the mark set at `markedAt`, unless it was set again since. */
  clearWaiting(sn: string, markedAt: string): Promise<void>;
  /**
   * Records that the device's pending commands were all listed, so that from now on no mark means none
   * waits (a device seen before the marks existed could hold unmarked ones). Leaves a mark alone.
   */
  markNoneWaiting(sn: string): Promise<void>;
  /**
   * Moves the command to `to` if that is forward (see `STATUS_RANK`) and, when `onlyFrom` is given, only
   * from one of those statuses; `undefined` when refused or missing.
   */
  transition(
    sn: string,
    id: string,
    to: CommandStatus,
    at: string,
    fields?: TransitionFields,
    onlyFrom?: readonly CommandStatus[],
  ): Promise<Command | undefined>;
  /** Records that the command is on the commands queue and that `announced` was announced before. */
  markEnqueued(sn: string, id: string, at: string, announced: CommandStatus): Promise<void>;
  markAnnounced(sn: string, id: string, status: CommandStatus): Promise<void>;
  /** A device's commands in one status, oldest first. */
  listByStatus(sn: string, status: CommandStatus, limit: number, cursor?: string): Promise<CommandPage>;
  listByDevice(sn: string, limit: number, cursor?: string): Promise<CommandPage>;
  countByStatus(sn: string, status: CommandStatus): Promise<number>;
}

/** The commands FIFO queue: one message group per device, deduplicated by `dedupeId`. */
export interface CommandQueue {
  enqueue(messages: Array<CommandQueueMessage & { dedupeId: string }>): Promise<void>;
  /**
   * True when every `queued` announcement on the events reaches this queue by itself (in AWS and the
   * local stack the queue is subscribed to the events topic for them): announcing a new command then
   * also enqueues it, and the one send does both.
   */
  readonly fedByAnnouncements?: boolean;
}

/** Whether announcing `command` puts it on `queue` too, so no enqueue of its own is needed. */
export const announcementEnqueues = (queue: CommandQueue, command: { status: string }) =>
  queue.fedByAnnouncements === true && command.status === "queued";

/** One message for EMQX's `POST /api/v5/publish/bulk`. */
export interface PublishRequest {
  topic: string;
  payload: string;
  qos: 1;
  /** True only for the feed's current-state topics (presence, shadow); commands are never retained. */
  retain: boolean;
  properties: { message_expiry_interval?: number; user_properties: Record<string, string> };
}

export type PublishItemResult =
  | { ok: true; messageId: string }
  | { ok: false; reasonCode: number; message: string };

/**
 * EMQX's publish API. Throws `TransientError` when EMQX is unreachable or answers 5xx as a whole,
 * `EmqxAuthError` on 401/403; a 400 for the batch is a result, since one bad item rejects all of them.
 */
export interface DevicePublisher {
  publishBulk(
    requests: PublishRequest[],
  ): Promise<{ rejected: false; results: PublishItemResult[] } | { rejected: true; message: string }>;
}
