import type { CommandStatus } from "../schemas/command.ts";

/** A command as stored and as the API returns it. */
export interface Command {
  sn: string;
  id: string;
  op: string;
  data: Record<string, unknown>;
  status: CommandStatus;
  createdAt: string;
  updatedAt: string;
  /** Past this instant it is never published; absent = no TTL. */
  expiresAt?: string;
  ttlSeconds?: number;
  /** Hash of what the client asked for: the same id with another body is a conflict. */
  requestHash: string;
  /** EMQX's message id from the last publish. */
  messageId?: string;
  /** Why it failed or expired, or the device's error. */
  reason?: string;
  /** The device's `result` from its ack. */
  result?: unknown;
  /** Set once the command is on the commands queue. */
  enqueuedAt?: string;
  /** The last status put on the events queue. */
  announcedStatus?: CommandStatus;
  /** The job this command is an execution of (`POST /v1/jobs`); absent for a command sent on its own. */
  jobId?: string;
}

/**
 * What a status change may also record; `announcedStatus` when the new status was put on the events
 * queue before the change was written (then one write records both).
 */
export type TransitionFields = Partial<Pick<Command, "messageId" | "reason" | "result" | "announcedStatus">>;

/** A message on the commands FIFO queue: just a pointer, the store is the truth. */
export interface CommandQueueMessage {
  sn: string;
  id: string;
}
