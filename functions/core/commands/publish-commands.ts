import { TransientError } from "../errors.ts";
import type { Clock } from "../ports.ts";
import { type AnnounceDeps, announceStatus } from "./announce.ts";
import { isExpired, toPublishRequest } from "./envelope.ts";
import { olderUnpublished } from "./older-first.ts";
import type { CommandStore, DevicePublisher, PublishItemResult, PublishRequest } from "./ports.ts";
import type { QueuedCommand } from "./queued.ts";
import { type RecyclePolicy, recycleExhausted } from "./recycle.ts";
import { BLOCKED, Retries } from "./retries.ts";
import { isFinal, wasPublished } from "./status.ts";
import type { Command } from "./types.ts";

export type { QueuedCommand } from "./queued.ts";

export interface PublishDeps extends AnnounceDeps {
  commands: CommandStore;
  publisher: DevicePublisher;
  clock: Clock;
  /** Puts messages an outage held back too long on the queue again; without it SQS may dead-letter them. */
  recycle?: RecyclePolicy;
  /** Told about every failure that makes a message retry; `error` is the original error. */
  log?: (message: string, fields: { error: unknown } & Record<string, unknown>) => void;
}

export type PublishOutcome = "sent" | "pending" | "failed" | "expired" | "skipped" | "retry" | "recycled";

export interface PublishReport {
  /** Queue messages to retry (SQS redelivers them, in order, with backoff). */
  failed: string[];
  /** EMQX requests made for this batch (1, more when a 400 made us split it). */
  emqxCalls: number;
  outcomes: Record<string, PublishOutcome>;
}

interface Candidate {
  queued: QueuedCommand;
  command: Command;
  request: PublishRequest;
}

/**
 * Publishes a batch of queued commands with one bulk request to EMQX (split only if EMQX refuses it).
 * Commands already published, final or expired are not published; a device's older unpublished commands
 * go first, and its later ones wait whenever an earlier one must be retried, so per-device order holds.
 * Messages held back by an outage near their receive budget are recycled instead of retried.
 */
export async function publishCommands(deps: PublishDeps, batch: QueuedCommand[]): Promise<PublishReport> {
  const report: PublishReport = { failed: [], emqxCalls: 0, outcomes: {} };
  const retries = new Retries();
  const retry = (queued: QueuedCommand, cause: unknown) => {
    retries.add(queued, cause);
    report.outcomes[queued.messageId] = "retry";
  };
  const seen = new Set<string>();
  const candidates = await prepareBatch(deps, batch, report, seen, retry, retries);
  const ordered = await withOlderFirst(deps, candidates, seen, report, retry);
  const results = await publishSplittingOnRejection(deps, ordered, report, {});
  // Everything EMQX took is recorded as such, even after a failed one of the same device: retrying
  // a published command would deliver it twice.
  for (const candidate of ordered) {
    try {
      await settle(deps, candidate, results.get(candidate), report, retry);
    } catch (error) {
      deps.log?.("could not record publish result; will retry", { id: candidate.command.id, error });
      retry(candidate.queued, error);
    }
  }
  for (const id of await recycleExhausted(deps.recycle, batch, retries, deps.log))
    report.outcomes[id] = "recycled";
  report.failed = retries.failed;
  return report;
}

type RetryFn = (queued: QueuedCommand, cause: unknown) => void;

async function prepareBatch(
  deps: PublishDeps,
  batch: QueuedCommand[],
  report: PublishReport,
  seen: Set<string>,
  retry: RetryFn,
  retries: Retries,
): Promise<Candidate[]> {
  const candidates: Candidate[] = [];
  for (const queued of batch) {
    const key = `${queued.sn}/${queued.id}`;
    // A re-queue on connect and another on the device's st message can land in one batch.
    if (seen.has(key)) {
      report.outcomes[queued.messageId] = "skipped";
      continue;
    }
    seen.add(key);
    if (retries.isBlocked(queued.sn)) {
      retry(queued, BLOCKED);
      continue;
    }
    try {
      const candidate = await prepare(deps, queued, report);
      if (candidate) candidates.push(candidate);
    } catch (error) {
      deps.log?.("could not prepare command; will retry", { sn: queued.sn, id: queued.id, error });
      retry(queued, error);
    }
  }
  return candidates;
}

/**
 * Puts each device's older `queued`/`pending` commands (from the store) ahead of its first command in the
 * batch, in creation order; their own queue messages then find them `sent` and are skipped. When they
 * cannot be listed, or there are more than one page, the device's commands wait rather than overtake.
 */
async function withOlderFirst(
  deps: PublishDeps,
  candidates: Candidate[],
  seen: Set<string>,
  report: PublishReport,
  retry: RetryFn,
): Promise<Candidate[]> {
  const ordered: Candidate[] = [];
  const waiting = new Set<string>();
  const done = new Set<string>();
  for (const candidate of candidates) {
    const sn = candidate.command.sn;
    if (waiting.has(sn)) {
      retry(candidate.queued, BLOCKED);
      continue;
    }
    if (!done.has(sn)) {
      done.add(sn);
      try {
        const older = await olderCandidates(deps, candidate.command, seen, report);
        ordered.push(...older.prepared);
        if (!older.complete) throw new TransientError("older commands of the device go first");
      } catch (error) {
        deps.log?.("older commands of the device must go first; will retry", { sn, error });
        waiting.add(sn);
        retry(candidate.queued, error);
        continue;
      }
    }
    ordered.push(candidate);
  }
  return ordered;
}

async function olderCandidates(
  deps: PublishDeps,
  first: Command,
  seen: Set<string>,
  report: PublishReport,
): Promise<{ prepared: Candidate[]; complete: boolean }> {
  const { older, complete } = await olderUnpublished(deps.commands, first, (c) =>
    seen.has(`${c.sn}/${c.id}`),
  );
  const prepared: Candidate[] = [];
  for (const command of older) {
    seen.add(`${command.sn}/${command.id}`);
    const queued = {
      sn: command.sn,
      id: command.id,
      messageId: `store:${command.sn}/${command.id}`,
      fromStore: true,
    };
    const candidate = await prepare(deps, queued, report);
    if (candidate) prepared.push(candidate);
  }
  return { prepared, complete };
}

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

/** A call that failed as a whole (EMQX down, 5xx, timeout, 401): its commands are retried for `error`. */
interface CallFailed {
  callFailed: unknown;
}
type Outcome = PublishItemResult | CallFailed;

/**
 * One bulk call; when EMQX refuses the whole batch (one bad item does that) it is halved until the bad
 * one is alone. A call that fails outright (EMQX down, 5xx, timeout, 401) marks only its own commands
 * for a retry: what an earlier call of the same split delivered stays recorded, never sent twice.
 */
async function publishSplittingOnRejection(
  deps: PublishDeps,
  candidates: Candidate[],
  report: PublishReport,
  split: { failed?: CallFailed },
): Promise<Map<Candidate, Outcome>> {
  if (candidates.length === 0) return new Map();
  // Once one call of a split failed outright, the rest wait too: publishing them now would put a
  // device's later commands ahead of the retried earlier ones.
  const failed = split.failed;
  if (failed) return new Map(candidates.map((c) => [c, failed]));
  report.emqxCalls++;
  let answer: Awaited<ReturnType<DevicePublisher["publishBulk"]>>;
  try {
    answer = await deps.publisher.publishBulk(candidates.map((c) => c.request));
  } catch (error) {
    deps.log?.("EMQX publish failed; these commands will be retried", { error, commands: candidates.length });
    split.failed = { callFailed: error };
    return new Map(candidates.map((c) => [c, split.failed as CallFailed]));
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

const missing = (): PublishItemResult => ({ ok: false, reasonCode: 131, message: "no result for this item" });

/** EMQX reason codes that mean "try again later", not "this command is wrong". */
const RETRYABLE_REASON_CODES = new Set([131]);

async function settle(
  deps: PublishDeps,
  candidate: Candidate,
  result: Outcome | undefined,
  report: PublishReport,
  retry: RetryFn,
): Promise<void> {
  const { command, queued } = candidate;
  if (!result) throw new Error("no publish result");
  if ("callFailed" in result) {
    retry(queued, result.callFailed);
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
  // failed_to_dispatch: EMQX could not route it just now (a node restarting), an outage, not a bad command.
  if (RETRYABLE_REASON_CODES.has(result.reasonCode))
    throw new TransientError(`EMQX could not dispatch: ${result.message}`);
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
