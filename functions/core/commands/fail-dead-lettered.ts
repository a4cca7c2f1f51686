import type { Clock } from "../ports.ts";
import { type AnnounceDeps, announceStatus } from "./announce.ts";
import type { CommandStore } from "./ports.ts";
import type { CommandQueueMessage } from "./types.ts";

export interface DeadLetterDeps extends AnnounceDeps {
  commands: CommandStore;
  clock: Clock;
}

/** A DLQ message's receive count also counts the DLQ's own receives, so the reason names no number. */
export const DEAD_LETTERED_REASON =
  "dead-lettered: the publisher could not publish it within the commands queue's receive budget (see its logs)";

export type DeadLetterOutcome = "failed" | "unchanged" | "missing";

/**
 * A commands-queue message reached the DLQ: the publisher could not handle it within the queue's
 * receive budget for a reason other than an outage (those are recycled, never dead-lettered). Its
 * command, if still waiting (`queued`/`pending`), becomes `failed` with the reason, so no command stays
 * `queued` forever. One published or finished meanwhile (e.g. pulled forward by a newer command of its
 * device) is left as it is.
 */
export async function failDeadLettered(
  deps: DeadLetterDeps,
  message: CommandQueueMessage,
): Promise<DeadLetterOutcome> {
  const changed = await deps.commands.transition(
    message.sn,
    message.id,
    "failed",
    deps.clock.now().toISOString(),
    { reason: DEAD_LETTERED_REASON },
    ["queued", "pending"],
  );
  if (changed) {
    await announceStatus(deps, changed);
    return "failed";
  }
  const command = await deps.commands.get(message.sn, message.id);
  if (!command) return "missing";
  // Finish an announcement a crash cut short.
  await announceStatus(deps, command);
  return "unchanged";
}
