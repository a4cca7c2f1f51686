import type { CommandStatus } from "../schemas/command.ts";
import { owesAnnouncement } from "./announce.ts";
import type { CommandBatchRead, PublishRequest } from "./ports.ts";
import type { QueuedCommand } from "./queued.ts";
import { Retries } from "./retries.ts";
import { isForward } from "./status.ts";
import type { Command, TransitionFields } from "./types.ts";

export type PublishOutcome = "sent" | "pending" | "failed" | "expired" | "skipped" | "retry" | "recycled";

export interface PublishReport {
  /** Queue messages to retry (SQS redelivers them, in order, with backoff). */
  failed: string[];
  /** EMQX requests made for this batch (1, more when a 400 made us split it). */
  emqxCalls: number;
  outcomes: Record<string, PublishOutcome>;
}

/** A command to publish in this batch's bulk call. */
export interface Candidate {
  queued: QueuedCommand;
  command: Command;
  request: PublishRequest;
}

/** A status change this batch makes: announced in the batch's one send, then written. */
export interface Change {
  queued: QueuedCommand;
  command: Command;
  to: CommandStatus;
  fields: TransitionFields;
}

/** What one device's commands in this batch tell the hold mark. */
export interface DeviceState {
  /** The mark as read; absent when the device holds nothing out of order. */
  heldThrough?: string;
  /** The device's first command to publish, once its older ones were looked for. */
  first?: Command;
  /** All its older waiting commands were found (one page). */
  complete?: boolean;
  /** The queue messages of its commands this batch leaves `pending`, moved there or kept there. */
  pending?: QueuedCommand[];
}

/** The state of one publisher batch: its report, retries, changes and owed announcements. */
export class BatchRun {
  readonly report: PublishReport = { failed: [], emqxCalls: 0, outcomes: {} };
  readonly retries = new Retries();
  readonly changes: Change[] = [];
  /** Commands whose current status is owed an announcement (a crash or an outage cut it short). */
  readonly owed: Array<{ queued: QueuedCommand; command: Command }> = [];
  readonly devices = new Map<string, DeviceState>();
  /** The batch's read, once it succeeded. */
  read?: CommandBatchRead;

  device(sn: string): DeviceState {
    const known = this.devices.get(sn);
    if (known) return known;
    const state: DeviceState = {};
    this.devices.set(sn, state);
    return state;
  }

  outcome(queued: QueuedCommand, outcome: PublishOutcome): void {
    this.report.outcomes[queued.messageId] = outcome;
  }

  retry(queued: QueuedCommand, cause: unknown): void {
    this.retries.add(queued, cause);
    this.outcome(queued, "retry");
  }

  /** Records the move to `to`; a move that is not forward only finishes an owed announcement. */
  move(queued: QueuedCommand, command: Command, to: CommandStatus, fields: TransitionFields = {}): void {
    if (to === "pending") {
      const state = this.device(command.sn);
      state.pending = [...(state.pending ?? []), queued];
    }
    if (isForward(command.status, to)) this.changes.push({ queued, command, to, fields });
    else this.finishAnnouncement(queued, command);
  }

  finishAnnouncement(queued: QueuedCommand, command: Command): void {
    if (owesAnnouncement(command)) this.owed.push({ queued, command });
  }
}
