import { mapWithConcurrency } from "../concurrency.ts";
import { commandStatusMessage } from "./announce.ts";
import type { PublishDeps } from "./publish-commands.ts";
import type { BatchRun, Change } from "./publish-run.ts";
import type { QueuedCommand } from "./queued.ts";
import { KEEPS_REASON } from "./status.ts";
import type { Command } from "./types.ts";

/**
 * Records the batch's status changes at one write each: devices about to hold a `pending` command are
 * marked first, then every change (and every owed announcement) goes out in one send, then each change
 * is written together with the fact that it was announced. A crash after the send and before a write
 * leaves the command where it was: its message comes back, it is published again (at least once, as
 * after any crash past EMQX's answer) and announced again under the same eventId. When the send fails,
 * the changes are written unannounced and their messages retried, so the redelivery finds them owed.
 */
export async function recordChanges(deps: PublishDeps, run: BatchRun): Promise<void> {
  await holdPending(deps, run);
  const at = deps.clock.now().toISOString();
  const announced = await announceAll(deps, run, at);
  await mapWithConcurrency(run.changes, 10, (change) => write(deps, run, change, at, announced));
  if (!announced.ok) {
    for (const { queued } of [...run.changes, ...run.owed]) run.retries.add(queued, announced.error);
    return;
  }
  for (const { command } of run.owed) {
    // Rare (a crash or an outage cut an announcement short): a failed mark only announces it again later.
    await deps.commands
      .markAnnounced(command.sn, command.id, command.status)
      .catch((error) => deps.log?.("could not mark an owed announcement as made", { error, sn: command.sn }));
  }
}

/**
 * Devices this batch leaves with a `pending` command are marked before anything is announced or written:
 * as having commands that may wait (for their next connect, which lists them only then), even when the
 * command was `pending` already (a re-queue EMQX again found no subscriber for), and, when the newest
 * such change is newer than their hold, as holding commands out of queue order (for their newer ones).
 * An HTTP device's commands wait for its poll, not a connect: it gets the hold only.
 */
async function holdPending(deps: PublishDeps, run: BatchRun): Promise<void> {
  const now = deps.clock.now().toISOString();
  for (const [sn, state] of run.devices) {
    if (!state.pending?.length) continue;
    const through = newestPendingChange(run, sn);
    try {
      if (!run.read?.httpOnly?.has(sn)) await deps.commands.markWaiting(sn, now);
      if (through === undefined || (state.heldThrough !== undefined && state.heldThrough >= through))
        continue;
      await deps.commands.hold(sn, through);
      state.heldThrough = through;
    } catch (error) {
      deps.log?.("could not mark the device as holding a pending command; will retry", { sn, error });
      dropChanges(run, (c) => c.command.sn === sn && c.to === "pending", error);
      // Kept `pending` without a change: its message must come back, or nothing would mark it.
      for (const queued of state.pending)
        if (run.report.outcomes[queued.messageId] === "pending") run.retry(queued, error);
    }
  }
}

/** The creation time of the newest of the device's commands this batch moves to `pending`. */
function newestPendingChange(run: BatchRun, sn: string): string | undefined {
  let newest: string | undefined;
  for (const { command, to } of run.changes) {
    if (command.sn === sn && to === "pending" && (!newest || command.createdAt > newest))
      newest = command.createdAt;
  }
  return newest;
}

function dropChanges(run: BatchRun, dropped: (change: Change) => boolean, cause: unknown): void {
  const kept = run.changes.filter((change) => !dropped(change));
  for (const change of run.changes) if (dropped(change)) run.retry(change.queued, cause);
  run.changes.splice(0, run.changes.length, ...kept);
}

async function announceAll(
  deps: PublishDeps,
  run: BatchRun,
  at: string,
): Promise<{ ok: true } | { ok: false; error: unknown }> {
  const messages = [
    ...run.changes.map((change) => commandStatusMessage(applied(change, at))),
    ...run.owed.map(({ command }) => commandStatusMessage(command)),
  ];
  if (messages.length === 0) return { ok: true };
  try {
    await deps.events.send(messages);
    return { ok: true };
  } catch (error) {
    deps.log?.("could not announce the batch's status changes; will retry", {
      error,
      changes: messages.length,
    });
    return { ok: false, error };
  }
}

/** The command as the change leaves it (the store applies the same rules). */
function applied({ command, to, fields }: Change, at: string): Command {
  const { reason: _dropped, ...rest } = command;
  const keepsReason = fields.reason !== undefined || KEEPS_REASON.includes(to);
  return { ...(keepsReason ? command : rest), ...fields, status: to, updatedAt: at };
}

async function write(
  deps: PublishDeps,
  run: BatchRun,
  change: Change,
  at: string,
  announced: { ok: boolean },
): Promise<void> {
  const { command, to, fields, queued } = change;
  try {
    await deps.commands.transition(
      command.sn,
      command.id,
      to,
      at,
      announced.ok ? { ...fields, announcedStatus: to } : fields,
    );
  } catch (error) {
    deps.log?.("could not record publish result; will retry", { id: command.id, error });
    run.retry(queued as QueuedCommand, error);
  }
}
