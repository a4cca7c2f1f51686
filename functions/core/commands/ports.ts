import type { CommandStatus } from "../schemas/command.ts";
import type { Command, CommandQueueMessage, TransitionFields } from "./types.ts";

export type CreateCommandResult = { created: true } | { created: false; existing: Command };

export interface CommandPage {
  items: Command[];
  /** Opaque; absent on the last page. */
  cursor?: string;
}

/** Commands, one item per (sn, id); the truth the queue messages point to. */
export interface CommandStore {
  create(command: Command): Promise<CreateCommandResult>;
  get(sn: string, id: string): Promise<Command | undefined>;
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
  markEnqueued(sn: string, id: string, at: string): Promise<void>;
  markAnnounced(sn: string, id: string, status: CommandStatus): Promise<void>;
  /** A device's commands in one status, oldest first. */
  listByStatus(sn: string, status: CommandStatus, limit: number, cursor?: string): Promise<CommandPage>;
  listByDevice(sn: string, limit: number, cursor?: string): Promise<CommandPage>;
  countByStatus(sn: string, status: CommandStatus): Promise<number>;
}

/** The commands FIFO queue: one message group per device, deduplicated by `dedupeId`. */
export interface CommandQueue {
  enqueue(messages: Array<CommandQueueMessage & { dedupeId: string }>): Promise<void>;
}

/** One message for EMQX's `POST /api/v5/publish/bulk`. */
export interface PublishRequest {
  topic: string;
  payload: string;
  qos: 1;
  retain: false;
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
