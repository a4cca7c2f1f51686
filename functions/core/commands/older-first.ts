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
  /** Where the listing is complete, as an {@link orderKey}: every such command up to here is in `older`. */
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
  // shortest view of the past ends. All of `first`'s millisecond counts as before it: a command stamped
  // in it may be one its device still waits for, and the hold mark is lifted once everything up to
  // `first.createdAt` went out (`first` itself is in the batch).
  let until = `${first.createdAt}#\uffff`;
  let complete = true;
  for (const page of pages) {
    const last = page.items.at(-1);
    if (page.cursor && last && orderKey(last) < until) {
      until = orderKey(last);
      complete = false;
    }
  }
  const older = pages
    .flatMap((page) => page.items)
    .filter((c) => orderKey(c) <= until && !inBatch(c))
    .sort(byOrderKey);
  return { older, complete, until };
}

/**
 * Where a command sorts in its device's listings (the status index's sort key): creation time, then id.
 * Within one millisecond the id decides, as the index does, so a cut listing and the commands compared
 * with it agree on what lies before the cut.
 */
export const orderKey = (command: Pick<Command, "createdAt" | "id">) => `${command.createdAt}#${command.id}`;

/** Sorts commands as the status index does: by {@link orderKey}, oldest first. */
export function byOrderKey(
  a: Pick<Command, "createdAt" | "id">,
  b: Pick<Command, "createdAt" | "id">,
): number {
  const [x, y] = [orderKey(a), orderKey(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
