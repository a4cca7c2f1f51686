import type { CommandStatus } from "../schemas/command.ts";
import type { CommandStore } from "./ports.ts";
import type { Command } from "./types.ts";

/** How many of a device's older unpublished commands of one status are pulled forward per batch. */
export const OLDER_LIMIT = 25;

/** Statuses of commands that wait to be published: their queue message may be behind newer ones. */
const UNPUBLISHED: readonly CommandStatus[] = ["queued", "pending"];

export interface OlderCommands {
  /** Commands of the device created before `first` (or in its millisecond) and not in this batch, oldest first. */
  older: Command[];
  /**
   * False when the device has even more older ones than were listed: `first` must then wait, or it
   * would overtake them.
   */
  complete: boolean;
  /** Where the listing is complete: every such command created up to here is in `older`. */
  until: string;
}

/**
 * A device's commands still `queued` or `pending` that were created before `first` (or in its millisecond). The queue does not
 * always hold them ahead of it: a `pending` one is queued again only when its device reconnects, and a
 * message EMQX's outage kept too long is put back at the end of the group (`recycle.ts`). Publishing
 * them first, in creation order, is what keeps per-device order in both cases.
 */
export async function olderUnpublished(
  commands: CommandStore,
  first: Command,
  inBatch: (command: Command) => boolean,
): Promise<OlderCommands> {
  const pages = await Promise.all(UNPUBLISHED.map((s) => commands.listByStatus(first.sn, s, OLDER_LIMIT)));
  // A status with more pages may hide commands older than what another status listed: stop where the
  // shortest view of the past ends.
  let until = first.createdAt;
  let complete = true;
  for (const page of pages) {
    const last = page.items.at(-1);
    if (page.cursor && last && last.createdAt < until) {
      until = last.createdAt;
      complete = false;
    }
  }
  // `<=`: a command stamped in `first`'s millisecond may be one its device still waits for, and the
  // hold mark is lifted once everything up to `first.createdAt` went out (`first` itself is in the batch).
  const older = pages
    .flatMap((page) => page.items)
    .filter((c) => c.createdAt <= until && !inBatch(c))
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  return { older, complete, until };
}
