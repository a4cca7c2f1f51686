import type { Clock } from "../ports.ts";
import type { AnnounceDeps } from "./announce.ts";
import { type CommandStore, commandKey, type DevicePublisher } from "./ports.ts";
import { publishSplittingOnRejection } from "./publish-bulk.ts";
import { planBatch } from "./publish-plan.ts";
import { recordChanges } from "./publish-record.ts";
import { BatchRun, type PublishReport } from "./publish-run.ts";
import { settle } from "./publish-settle.ts";
import type { QueuedCommand } from "./queued.ts";
import { type RecyclePolicy, recycleExhausted } from "./recycle.ts";

export type { PublishOutcome, PublishReport } from "./publish-run.ts";
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

/**
 * Publishes a batch of queued commands with one bulk request to EMQX (split only if EMQX refuses it),
 * at one read for the batch, one write per status change and one send for all its announcements.
 * Commands already published, final or expired are not published; a device holding older unpublished
 * commands out of queue order sends them first, and its later ones wait whenever an earlier one must be
 * retried, so per-device order holds. Messages held back by an outage near their receive budget are
 * recycled instead of retried.
 */
export async function publishCommands(deps: PublishDeps, batch: QueuedCommand[]): Promise<PublishReport> {
  const run = new BatchRun();
  const ordered = await planBatch(deps, run, batch);
  const results = await publishSplittingOnRejection(deps, ordered, run.report, {});
  for (const candidate of ordered) settle(run, candidate, results.get(candidate));
  await recordChanges(deps, run);
  const recycled = await recycleExhausted(deps.recycle, batch, run.retries, deps.log, (exhausted) =>
    holdRecycled(deps, run, exhausted),
  );
  for (const id of recycled) run.report.outcomes[id] = "recycled";
  await releaseHolds(deps, run);
  run.report.failed = run.retries.failed;
  return run.report;
}

/**
 * A recycled pointer lands behind the device's newer ones, so the device is marked through its newest
 * recycled command first (through now when the batch could not be read: a safe overestimate).
 */
async function holdRecycled(deps: PublishDeps, run: BatchRun, exhausted: QueuedCommand[]): Promise<void> {
  const now = deps.clock.now().toISOString();
  const through = new Map<string, string>();
  for (const queued of exhausted) {
    const createdAt = run.read?.commands.get(commandKey(queued.sn, queued.id))?.createdAt ?? now;
    const newest = through.get(queued.sn);
    if (!newest || createdAt > newest) through.set(queued.sn, createdAt);
  }
  for (const [sn, createdAt] of through) {
    const held = run.device(sn).heldThrough;
    if (held === undefined || held < createdAt) await deps.commands.hold(sn, createdAt);
  }
}

/**
 * Lifts a device's mark once this batch published everything it held: its older waiting commands were
 * all listed (one page) from a first command no older than the mark, none of them or of the batch's
 * is still `pending`, and none of its messages must come back.
 */
async function releaseHolds(deps: PublishDeps, run: BatchRun): Promise<void> {
  for (const [sn, state] of run.devices) {
    const through = state.heldThrough;
    if (through === undefined || !state.first || !state.complete || state.pending) continue;
    if (run.retries.isBlocked(sn) || state.first.createdAt < through) continue;
    try {
      await deps.commands.release(sn, through);
    } catch (error) {
      // Harmless: the device's next command looks for older ones once more and lifts it then.
      deps.log?.("could not lift the device's hold mark", { sn, error });
    }
  }
}
