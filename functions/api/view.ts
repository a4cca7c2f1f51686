import type { Command } from "../core/commands/types.ts";

/** A command as the API shows it. */
export interface PublicCommand {
  id: string;
  sn: string;
  op: string;
  data: Record<string, unknown>;
  status: Command["status"];
  createdAt: string;
  updatedAt: string;
  expiresAt?: string;
  ttlSeconds?: number;
  messageId?: string;
  reason?: string;
  result?: unknown;
}

/**
 * The public view of a stored command. An allow-list, not a deny-list: bookkeeping fields
 * (`requestHash`, `enqueuedAt`, `announcedStatus`, and whatever the store adds later) never leak.
 *
 * @example
 * c.json({ command: publicCommand(stored) }, 202)
 */
export function publicCommand(command: Command): PublicCommand {
  return {
    id: command.id,
    sn: command.sn,
    op: command.op,
    data: command.data,
    status: command.status,
    createdAt: command.createdAt,
    updatedAt: command.updatedAt,
    ...(command.expiresAt !== undefined ? { expiresAt: command.expiresAt } : {}),
    ...(command.ttlSeconds !== undefined ? { ttlSeconds: command.ttlSeconds } : {}),
    ...(command.messageId !== undefined ? { messageId: command.messageId } : {}),
    ...(command.reason !== undefined ? { reason: command.reason } : {}),
    ...(command.result !== undefined ? { result: command.result } : {}),
  };
}
