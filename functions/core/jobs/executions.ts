import { commandStatusMessage } from "../commands/announce.ts";
import type { CommandStore } from "../commands/ports.ts";
import type { Command } from "../commands/types.ts";
import { mapWithConcurrency } from "../concurrency.ts";
import type { EventQueue } from "../ports.ts";
import { EXECUTION_STATUSES } from "../schemas/jobs.ts";
import { CANCELED_PREFIX, type ExecutionCounts, type ExecutionState, isCanceled, type Job } from "./types.ts";

/** Writes in flight while a slice creates or a check cancels executions. */
export const WRITE_CONCURRENCY = 25;
/** Executions one check cancels or expires; the next check goes on with the rest. */
export const MAX_MOVES_PER_CHECK = 1000;

const UNSENT = new Set(["queued", "pending"]);
const OPEN = new Set(["queued", "pending", "sent", "delivered"]);

export const isUnsent = (state: Pick<Command, "status">) => UNSENT.has(state.status);
export const isOpen = (state: Pick<Command, "status">) => OPEN.has(state.status);

export function countStates(states: readonly ExecutionState[]): ExecutionCounts {
  const counts: ExecutionCounts = {};
  for (const status of EXECUTION_STATUSES) counts[status] = 0;
  for (const state of states) {
    const status = isCanceled(state) ? "canceled" : state.status;
    counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

/**
 * Moves executions not sent yet to `expired` with `reason` (only from `queued`/`pending`, so one the
 * publisher took meanwhile keeps its status), then announces the changes in one send and marks them
 * announced. Returns the changed commands.
 */
export async function expireUnsent(
  deps: { commands: CommandStore; events: EventQueue },
  states: readonly ExecutionState[],
  at: string,
  reason: string,
): Promise<Command[]> {
  const moved = await mapWithConcurrency(states.filter(isUnsent), WRITE_CONCURRENCY, (state) =>
    deps.commands.transition(state.sn, state.id, "expired", at, { reason }, ["queued", "pending"]),
  );
  const changed = moved.filter((command): command is Command => command !== undefined);
  if (changed.length === 0) return changed;
  await deps.events.send(changed.map(commandStatusMessage));
  await mapWithConcurrency(changed, WRITE_CONCURRENCY, (command) =>
    deps.commands.markAnnounced(command.sn, command.id, command.status),
  );
  return changed;
}

export const canceledReason = (job: Job) =>
  `${CANCELED_PREFIX} job '${job.id}' was ${job.status === "aborted" ? "aborted" : "canceled"} before this was sent`;
