import { randomUUID } from "node:crypto";
import { canonicalJson } from "../canonical-json.ts";
import { stableEventId } from "../event-id.ts";
import type { Clock } from "../ports.ts";
import type { CommandRequest } from "../schemas/command.ts";
import { type AnnounceDeps, announceStatus, commandStatusMessage, owesAnnouncement } from "./announce.ts";
import { CommandConflictError } from "./errors.ts";
import { announcementEnqueues, type CommandQueue } from "./ports.ts";
import type { Command } from "./types.ts";

export interface CreateCommandDeps extends AnnounceDeps {
  queue: CommandQueue;
  clock: Clock;
}

/**
 * Stores a command and puts it on the device's FIFO queue; idempotent on the client's `id`.
 * The same id with the same body returns the stored command (finishing an enqueue a crash cut short);
 * with another body it is a {@link CommandConflictError}.
 */
export async function createCommand(
  deps: CreateCommandDeps,
  sn: string,
  request: CommandRequest,
): Promise<{ command: Command; created: boolean }> {
  const now = deps.clock.now();
  const candidate = newCommand(sn, request, now);
  const result = await deps.commands.create(candidate);
  const command = result.created ? candidate : result.existing;
  if (!result.created && command.requestHash !== candidate.requestHash)
    throw new CommandConflictError(sn, command.id);
  if (command.enqueuedAt) {
    // A replay of a finished create: only an announcement a publisher outage left owing is sent.
    await announceStatus(deps, command);
  } else {
    // Announced before it is queued, so consumers never see `sent` ahead of `queued`; then one write
    // records both (a crash before it makes a replay send both again: consumers drop the repeated
    // event by eventId, SQS the repeated pointer by its deduplication id, the publisher a command
    // already sent). Where the queue takes `queued` announcements itself, that one send does both.
    const announced = owesAnnouncement(command);
    if (announced) await deps.events.send([commandStatusMessage(command)]);
    if (!(announced && announcementEnqueues(deps.queue, command)))
      await deps.queue.enqueue([{ sn, id: command.id, dedupeId: command.id }]);
    await deps.commands.markEnqueued(sn, command.id, now.toISOString(), command.status);
  }
  return { command: { ...command, announcedStatus: command.status }, created: result.created };
}

/** A new `queued` command as `createCommand` stores it; jobs build their executions with it too. */
export function newCommand(sn: string, request: CommandRequest, now: Date): Command {
  const at = now.toISOString();
  return {
    sn,
    id: request.id ?? randomUUID(),
    op: request.op,
    data: request.data ?? {},
    status: "queued",
    createdAt: at,
    updatedAt: at,
    ...(request.ttlSeconds
      ? {
          ttlSeconds: request.ttlSeconds,
          expiresAt: new Date(now.getTime() + request.ttlSeconds * 1000).toISOString(),
        }
      : {}),
    requestHash: stableEventId(request.op, canonicalJson(request.data ?? {}), request.ttlSeconds ?? 0),
  };
}
