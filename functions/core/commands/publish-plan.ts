import { HTTP_POLL_REASON } from "../device-transport.ts";
import { TransientError } from "../errors.ts";
import { isExpired, toPublishRequest } from "./envelope.ts";
import { byOrderKey, olderUnpublished, orderKey } from "./older-first.ts";
import { type CommandBatchRead, commandKey } from "./ports.ts";
import type { PublishDeps } from "./publish-commands.ts";
import type { BatchRun, Candidate } from "./publish-run.ts";
import type { QueuedCommand } from "./queued.ts";
import { BLOCKED } from "./retries.ts";
import { isFinal, wasPublished } from "./status.ts";
import type { Command } from "./types.ts";

/**
 * Reads the batch's commands and their devices' hold marks in one request and sorts them into
 * commands to publish (in batch order, a held device's older waiting ones first), status changes that
 * need no EMQX (expired, too large) and owed announcements. Returns the commands to publish.
 */
export async function planBatch(
  deps: PublishDeps,
  run: BatchRun,
  batch: QueuedCommand[],
): Promise<Candidate[]> {
  const seen = new Set<string>();
  const pointers = batch.filter((queued) => {
    const key = commandKey(queued.sn, queued.id);
    // A re-queue on connect and another on the device's st message can land in one batch.
    if (seen.has(key)) run.outcome(queued, "skipped");
    else seen.add(key);
    return run.report.outcomes[queued.messageId] !== "skipped";
  });
  let read: CommandBatchRead;
  try {
    read = await deps.commands.readBatch(pointers);
  } catch (error) {
    deps.log?.("could not read the batch's commands; will retry", { error, commands: pointers.length });
    for (const queued of pointers) run.retry(queued, error);
    return [];
  }
  run.read = read;
  for (const [sn, through] of read.heldThrough) run.device(sn).heldThrough = through;
  const now = deps.clock.now();
  const candidates = pointers.flatMap(
    (queued) => classify(run, queued, read.commands.get(commandKey(queued.sn, queued.id)), now) ?? [],
  );
  return withOlderFirst(deps, run, candidates, seen);
}

/** What to do with one command: publish it, or record what it needs without EMQX. */
function classify(run: BatchRun, queued: QueuedCommand, command: Command | undefined, now: Date) {
  if (!command) {
    run.outcome(queued, "skipped");
    return undefined;
  }
  if (wasPublished(command.status) || isFinal(command.status)) {
    // A replayed or duplicate queue message: never publish twice, but finish an interrupted announcement.
    run.finishAnnouncement(queued, command);
    run.outcome(queued, "skipped");
    return undefined;
  }
  if (isExpired(command, now)) {
    run.move(queued, command, "expired", { reason: "its TTL passed before it could be published" });
    run.outcome(queued, "expired");
    return undefined;
  }
  if (run.read?.httpOnly?.has(command.sn)) {
    // An HTTP device never subscribes: no EMQX call, the command waits (visibly) for its poll.
    run.move(queued, command, "pending", { reason: HTTP_POLL_REASON });
    run.outcome(queued, "pending");
    return undefined;
  }
  const request = toPublishRequest(command, now);
  if ("invalid" in request) {
    run.move(queued, command, "failed", { reason: request.invalid });
    run.outcome(queued, "failed");
    return undefined;
  }
  return { queued, command, request };
}

/**
 * Merges a held device's unpublished `queued`/`pending` commands from the store with its commands in the
 * batch, all in creation order, up to its newest one in the batch; their own queue messages then find
 * them published and are skipped.
 * When they cannot be listed, or there are more than a page, the device's commands wait rather than
 * overtake. A device without a hold mark has none: every older command of it went through the queue
 * ahead of this one and was published, failed or marked it.
 */
async function withOlderFirst(
  deps: PublishDeps,
  run: BatchRun,
  candidates: Candidate[],
  seen: Set<string>,
): Promise<Candidate[]> {
  const ordered: Candidate[] = [];
  const waiting = new Set<string>();
  const sorted = heldOldestFirst(run, candidates);
  const ahead = new Map<string, StoreCommands>();
  for (const candidate of sorted) {
    const sn = candidate.command.sn;
    if (waiting.has(sn)) {
      run.retry(candidate.queued, BLOCKED);
      continue;
    }
    const state = run.device(sn);
    if (!state.first) {
      state.first = candidate.command;
      try {
        if (state.heldThrough !== undefined)
          ahead.set(sn, await olderThanNewest(deps, run, sorted, seen, sn));
      } catch (error) {
        deps.log?.("older commands of the device must go first; will retry", { sn, error });
        waiting.add(sn);
        run.retry(candidate.queued, error);
        continue;
      }
    }
    const store = ahead.get(sn);
    if (store?.until !== undefined && orderKey(candidate.command) > store.until) {
      ordered.push(...cutAtListing(run, candidate, store));
      waiting.add(sn);
      continue;
    }
    ordered.push(...takeUpTo(store?.items, orderKey(candidate.command)), candidate);
  }
  return [...ordered, ...leftInNewestMillisecond(ahead, waiting)];
}

/**
 * Listed commands of a device's newest batch command's millisecond that sort after it (the listing
 * covers the whole millisecond): they go last, which keeps the device's order.
 */
function leftInNewestMillisecond(ahead: Map<string, StoreCommands>, waiting: Set<string>): Candidate[] {
  return [...ahead].flatMap(([sn, store]) => (waiting.has(sn) ? [] : store.items.splice(0)));
}

/** Beyond what the listing could see: what it saw goes out, and `candidate` (and the device's later ones) wait. */
function cutAtListing(run: BatchRun, candidate: Candidate, store: StoreCommands): Candidate[] {
  run.retry(candidate.queued, new TransientError("older commands of the device go first"));
  return store.items.splice(0);
}

/** A held device's commands from the store, oldest first; `until` is set when the listing was cut there. */
interface StoreCommands {
  items: Candidate[];
  until?: string;
}

/**
 * A held device's unpublished commands from the store that are not in the batch, up to its newest one
 * in the batch (re-queued ones may have left some between its batch commands), oldest first.
 */
async function olderThanNewest(
  deps: PublishDeps,
  run: BatchRun,
  sorted: Candidate[],
  seen: Set<string>,
  sn: string,
): Promise<StoreCommands> {
  const newest = sorted.filter((c) => c.command.sn === sn).at(-1) as Candidate;
  const older = await olderFirst(deps, run, newest, seen);
  run.device(sn).complete = older.complete;
  return older.complete ? { items: older.prepared } : { items: older.prepared, until: older.until };
}

/** Takes from the front of `waiting` (oldest first) the commands up to `key` (an {@link orderKey}). */
function takeUpTo(waiting: Candidate[] | undefined, key: string): Candidate[] {
  let count = 0;
  while (waiting && count < waiting.length && orderKey((waiting[count] as Candidate).command) <= key) count++;
  return waiting ? waiting.splice(0, count) : [];
}

/**
 * A held device's commands in the batch, in creation order, in the places its commands took: a
 * re-queued `pending` one can be behind a newer one in the queue, and both in one batch.
 */
function heldOldestFirst(run: BatchRun, candidates: Candidate[]): Candidate[] {
  const isHeld = (c: Candidate) => run.device(c.command.sn).heldThrough !== undefined;
  const bySn = new Map<string, Candidate[]>();
  for (const c of candidates.filter(isHeld)) bySn.set(c.command.sn, [...(bySn.get(c.command.sn) ?? []), c]);
  for (const list of bySn.values()) list.sort((a, b) => byOrderKey(a.command, b.command));
  return candidates.map((c) => (isHeld(c) ? (bySn.get(c.command.sn)?.shift() ?? c) : c));
}

async function olderFirst(
  deps: PublishDeps,
  run: BatchRun,
  first: Candidate,
  seen: Set<string>,
): Promise<{ prepared: Candidate[]; complete: boolean; until: string }> {
  const { older, complete, until } = await olderUnpublished(deps.commands, first.command, (c) =>
    seen.has(commandKey(c.sn, c.id)),
  );
  const current = await currentOf(deps, older);
  const now = deps.clock.now();
  const prepared: Candidate[] = [];
  for (const listed of older) {
    const key = commandKey(listed.sn, listed.id);
    // Listed twice: the index can show a command moving between the two statuses under both.
    if (seen.has(key)) continue;
    seen.add(key);
    const queued = { sn: listed.sn, id: listed.id, messageId: `store:${key}`, fromStore: true };
    const candidate = classify(run, queued, current.get(key), now);
    if (candidate) prepared.push(candidate);
  }
  return { prepared, complete, until };
}

/**
 * The listed commands as the table has them now, in one consistent read: the status index may still
 * show a command published moments ago as unpublished, and publishing it again would deliver it twice.
 */
async function currentOf(deps: PublishDeps, listed: Command[]): Promise<Map<string, Command>> {
  if (listed.length === 0) return new Map();
  return (await deps.commands.readBatch(listed.map(({ sn, id }) => ({ sn, id })))).commands;
}
