import type { CommandStatus } from "../schemas/command.ts";

/**
 * How far along a command is. A status change is only accepted to a higher rank, so late or repeated
 * events (a PUBACK after the device's answer, a replayed queue message) can never move a command back.
 *
 * ```
 * queued ─► pending ─► sent ─► delivered ─► acked | failed
 *    └─────────┴──► expired (never published)   queued/pending/sent ─► failed (refused by EMQX)
 * ```
 */
export const STATUS_RANK: Record<CommandStatus, number> = {
  queued: 0,
  pending: 1,
  sent: 2,
  delivered: 3,
  acked: 4,
  failed: 4,
  expired: 4,
};

export const isFinal = (status: CommandStatus) => STATUS_RANK[status] === 4;

/** Already handed to EMQX at least once: a replayed queue message must not publish it again. */
export const wasPublished = (status: CommandStatus) => STATUS_RANK[status] >= STATUS_RANK.sent;

/** Statuses a `reason` explains; moving to any other one drops the reason. */
export const KEEPS_REASON: readonly CommandStatus[] = ["pending", "failed", "expired"];

/** True when `to` is further along than `from`: the only moves a store accepts. */
export const isForward = (from: CommandStatus, to: CommandStatus) => STATUS_RANK[to] > STATUS_RANK[from];
