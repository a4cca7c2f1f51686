import type { Clock } from "../ports.ts";
import { type AnnounceDeps, announceStatus } from "./announce.ts";
import { isExpired, toPublishRequest } from "./envelope.ts";
import type { CommandStore, DevicePublisher, PublishItemResult, PublishRequest } from "./ports.ts";
import { isFinal, wasPublished } from "./status.ts";
import type { Command, CommandQueueMessage } from "./types.ts";

export interface PublishDeps extends AnnounceDeps {
  commands: CommandStore;
  publisher: DevicePublisher;
  clock: Clock;
  /** Told about every failure that makes a message retry; `error` is the original error. */
  log?: (message: string, fields: { error: unknown } & Record<string, unknown>) => void;
}

/** One queue message to publish; `messageId` identifies it in the batch failure report. */
export interface QueuedCommand extends CommandQueueMessage {
  messageId: string;
  /** Not from the queue: an older pending command taken from the store to keep per-device order. */
  fromStore?: boolean;
}

export interface PublishReport {
  /** Queue messages to retry (SQS redelivers them, in order, with backoff). */
  failed: string[];
  /** EMQX requests made for this batch (1, more when a 400 made us split it). */
  emqxCalls: number;
  outcomes: Record<string, "sent" | "pending" | "failed" | "expired" | "skipped" | "retry">;
}

interface Candidate {
  queued: QueuedCommand;
  command: Command;
  request: PublishRequest;
}

/**
 * Publishes a batch of queued commands with one bulk request to EMQX (split only if EMQX refuses it).
 * Commands already published, final or expired are not published; a device's later commands wait
 * whenever an earlier one of the same device must be retried, so per-device order holds.
 */
export async function publishCommands(deps: PublishDeps, batch: QueuedCommand[]): Promise<PublishReport> {
  const report: PublishReport = { failed: [], emqxCalls: 0, outcomes: {} };
  const blocked = new Set<string>();
  const retry = (queued: QueuedCommand) => {
    blocked.add(queued.sn);
    report.outcomes[queued.messageId] = "retry";
    // A command taken from the store has no queue message; it stays pending and is tried again later.
    if (!queued.fromStore) report.failed.push(queued.messageId);
  };
  const seen = new Set<string>();
  const candidates: Candidate[] = [];
  for (const queued of batch) {
    const key = `${queued.sn}/${queued.id}`;
    // A re-queue on connect and another on the device's st message can land in one batch.
    if (seen.has(key)) {
      report.outcomes[queued.messageId] = "skipped";
      continue;
    }
    seen.add(key);
    if (blocked.has(queued.sn)) {
      retry(queued);
      continue;
    }
    try {
      const candidate = await prepare(deps, queued, report);
      if (candidate) candidates.push(candidate);
    } catch (error) {
      deps.log?.("could not prepare command; will retry", { sn: queued.sn, id: queued.id, error });
      retry(queued);
    }
  }
  if (candidates.length === 0) return report;
  const ordered = await withOlderPendingFirst(deps, candidates, seen, report);
  const results = await publishSplittingOnRejection(deps, ordered, report, { failed: false });
  // Everything EMQX took is recorded as such, even after a failed one of the same device: retrying
  // a published command would deliver it twice.
  for (const candidate of ordered) {
    try {
      await settle(deps, candidate, results.get(candidate), report);
    } catch (error) {
      deps.log?.("could not record publish result; will retry", { id: candidate.command.id, error });
      retry(candidate.queued);
    }
  }
  return report;
}

/**
 * A device's commands still `pending` from before (published while it was offline) go out ahead of the
 * newer ones in this batch, so a command created after the device reconnected cannot overtake them
 * while their re-queue is still on its way. Their own queue messages then find them `sent` and skip.
 */
async function withOlderPendingFirst(
  deps: PublishDeps,
  candidates: Candidate[],
  seen: Set<string>,
  report: PublishReport,
): Promise<Candidate[]> {
  const ordered: Candidate[] = [];
  const done = new Set<string>();
  for (const candidate of candidates) {
    const sn = candidate.command.sn;
    if (!done.has(sn)) {
      done.add(sn);
      ordered.push(...(await olderPending(deps, candidate.command, seen, report)));
    }
    ordered.push(candidate);
  }
  return ordered;
}

async function olderPending(
  deps: PublishDeps,
  first: Command,
  seen: Set<string>,
  report: PublishReport,
): Promise<Candidate[]> {
  let pending: Command[];
  try {
    pending = (await deps.commands.listByStatus(first.sn, "pending", OLDER_PENDING_LIMIT)).items;
  } catch (error) {
    // Best effort: without the list the batch still goes out, as the queue ordered it.
    deps.log?.("could not list pending commands; publishing without them", { sn: first.sn, error });
    return [];
  }
  const older = pending.filter((c) => c.createdAt < first.createdAt && !seen.has(`${c.sn}/${c.id}`));
  const prepared: Candidate[] = [];
  for (const command of older) {
    seen.add(`${command.sn}/${command.id}`);
    const queued = {
      sn: command.sn,
      id: command.id,
      messageId: `store:${command.sn}/${command.id}`,
      fromStore: true,
    };
    const candidate = await prepare(deps, queued, report).catch(() => undefined);
    if (candidate) prepared.push(candidate);
  }
  return prepared;
}

/** How many older pending commands of one device are pulled forward per batch. */
const OLDER_PENDING_LIMIT = 25;

async function prepare(
  deps: PublishDeps,
  queued: QueuedCommand,
  report: PublishReport,
): Promise<Candidate | undefined> {
  const now = deps.clock.now();
  const command = await deps.commands.get(queued.sn, queued.id);
  if (!command) {
    report.outcomes[queued.messageId] = "skipped";
    return undefined;
  }
  if (wasPublished(command.status) || isFinal(command.status)) {
    // A replayed or duplicate queue message: never publish twice, but finish an interrupted announcement.
    await announceStatus(deps, command);
    report.outcomes[queued.messageId] = "skipped";
    return undefined;
  }
  if (isExpired(command, now)) {
    await finish(deps, command, "expired", { reason: "its TTL passed before it could be published" });
    report.outcomes[queued.messageId] = "expired";
    return undefined;
  }
  const request = toPublishRequest(command, now);
  if ("invalid" in request) {
    await finish(deps, command, "failed", { reason: request.invalid });
    report.outcomes[queued.messageId] = "failed";
    return undefined;
  }
  return { queued, command, request };
}

/**
 * One bulk call; when EMQX refuses the whole batch (one bad item does that) it is halved until the bad
 * one is alone. A call that fails outright (EMQX down, 5xx, timeout, 401) marks only its own commands
 * for a retry: what an earlier call of the same split delivered stays recorded, never sent twice.
 */
async function publishSplittingOnRejection(
  deps: PublishDeps,
  candidates: Candidate[],
  report: PublishReport,
  split: { failed: boolean },
): Promise<Map<Candidate, PublishItemResult>> {
  // Once one call of a split failed outright, the rest wait too: publishing them now would put a
  // device's later commands ahead of the retried earlier ones.
  if (split.failed) return new Map(candidates.map((c) => [c, RETRY]));
  report.emqxCalls++;
  let answer: Awaited<ReturnType<DevicePublisher["publishBulk"]>>;
  try {
    answer = await deps.publisher.publishBulk(candidates.map((c) => c.request));
  } catch (error) {
    deps.log?.("EMQX publish failed; these commands will be retried", { error, commands: candidates.length });
    split.failed = true;
    return new Map(candidates.map((c) => [c, RETRY]));
  }
  if (!answer.rejected) return new Map(candidates.map((c, i) => [c, answer.results[i] ?? missing()]));
  if (candidates.length === 1) {
    return new Map([[candidates[0] as Candidate, { ok: false, reasonCode: 400, message: answer.message }]]);
  }
  const middle = Math.ceil(candidates.length / 2);
  const first = await publishSplittingOnRejection(deps, candidates.slice(0, middle), report, split);
  const second = await publishSplittingOnRejection(deps, candidates.slice(middle), report, split);
  return new Map([...first, ...second]);
}

/** Stands for "this command's call failed as a whole"; settled as a retry, already logged. */
const RETRY: PublishItemResult = { ok: false, reasonCode: -1, message: "EMQX call failed" };

const missing = (): PublishItemResult => ({ ok: false, reasonCode: 131, message: "no result for this item" });

/** EMQX reason codes that mean "try again later", not "this command is wrong". */
const RETRYABLE_REASON_CODES = new Set([131]);

async function settle(
  deps: PublishDeps,
  candidate: Candidate,
  result: PublishItemResult | undefined,
  report: PublishReport,
): Promise<void> {
  const { command, queued } = candidate;
  if (!result) throw new Error("no publish result");
  if (result === RETRY) {
    report.outcomes[queued.messageId] = "retry";
    if (!queued.fromStore) report.failed.push(queued.messageId);
    return;
  }
  if (result.ok) {
    await finish(deps, command, "sent", { messageId: result.messageId });
    report.outcomes[queued.messageId] = "sent";
    return;
  }
  if (result.reasonCode === 16) {
    await finish(deps, command, "pending", {
      reason: "no_matching_subscribers: kept until the device is online",
    });
    report.outcomes[queued.messageId] = "pending";
    return;
  }
  if (RETRYABLE_REASON_CODES.has(result.reasonCode))
    throw new Error(`EMQX could not dispatch: ${result.message}`);
  await finish(deps, command, "failed", { reason: `EMQX refused it: ${result.message}` });
  report.outcomes[queued.messageId] = "failed";
}

async function finish(
  deps: PublishDeps,
  command: Command,
  status: "sent" | "pending" | "failed" | "expired",
  fields: { messageId?: string; reason?: string },
): Promise<void> {
  const changed = await deps.commands.transition(
    command.sn,
    command.id,
    status,
    deps.clock.now().toISOString(),
    fields,
  );
  if (changed) await announceStatus(deps, changed);
}
