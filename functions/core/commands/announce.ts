import { stableEventId } from "../event-id.ts";
import type { FanoutMessage } from "../fanout.ts";
import type { EventQueue } from "../ports.ts";
import type { CommandStore } from "./ports.ts";
import type { Command } from "./types.ts";

export interface AnnounceDeps {
  commands: CommandStore;
  events: EventQueue;
}

/**
 * Puts the command's status on the events queue unless that status was announced already.
 * Called after every change and on every replay, so a crash between the change and the send heals.
 */
export async function announceStatus(deps: AnnounceDeps, command: Command): Promise<void> {
  if (!owesAnnouncement(command)) return;
  await deps.events.send([commandStatusMessage(command)]);
  await deps.commands.markAnnounced(command.sn, command.id, command.status);
}

/** The command's status has not been put on the events queue yet (a crash or an outage cut it short). */
export const owesAnnouncement = (command: Command) => command.announcedStatus !== command.status;

export function commandStatusMessage(command: Command): FanoutMessage {
  return {
    type: "command_status",
    eventId: stableEventId("command_status", command.sn, command.id, command.status),
    sn: command.sn,
    at: command.updatedAt,
    data: {
      id: command.id,
      op: command.op,
      status: command.status,
      ...(command.reason ? { reason: command.reason } : {}),
      ...(command.result !== undefined ? { result: command.result } : {}),
      ...(command.messageId ? { message_id: command.messageId } : {}),
      ...(command.jobId ? { jobId: command.jobId } : {}),
    },
  };
}
