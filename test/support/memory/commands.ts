import {
  type CommandBatchRead,
  type CommandPage,
  type CommandQueue,
  type CommandStore,
  type CreateCommandResult,
  commandKey,
} from "../../../functions/core/commands/ports.ts";
import type { QueuedCommand } from "../../../functions/core/commands/queued.ts";
import { KEEPS_REASON, STATUS_RANK } from "../../../functions/core/commands/status.ts";
import type {
  Command,
  CommandQueueMessage,
  TransitionFields,
} from "../../../functions/core/commands/types.ts";
import type { CommandStatus } from "../../../functions/core/schemas/command.ts";
import { pageOf } from "./paging.ts";

/**
 * CommandStore with the DynamoDB one's contract, in memory: create only if absent, status changes only
 * forward (and only from `onlyFrom`), a reason dropped when the command moves past the statuses it
 * explains, `enqueuedAt`/`announcedStatus` set once, hold marks that never go down and lift only when
 * unchanged, and listings in creation order that page like a Query with `Limit` (and can lag behind the
 * writes, as the status index does: `lagIndex`). Copies in and out.
 */
export class MemoryCommandStore implements CommandStore {
  readonly items = new Map<string, Command>();
  /** The hold marks, by device. */
  readonly holds = new Map<string, string>();
  /** The "commands may wait" marks, by device: when each was set. */
  readonly waiting = new Map<string, string>();
  /** Devices whose "commands may wait" item says none waits (a lifted mark, `markNoneWaiting`). */
  readonly noneWaiting = new Set<string>();
  /** While set, listings show the commands as they were then: a status index that has not caught up. */
  private indexed?: Map<string, Command>;

  async create(command: Command): Promise<CreateCommandResult> {
    const existing = this.items.get(commandKey(command.sn, command.id));
    if (existing) return { created: false, existing: structuredClone(existing) };
    this.items.set(commandKey(command.sn, command.id), structuredClone(command));
    return { created: true };
  }

  async get(sn: string, id: string): Promise<Command | undefined> {
    const found = this.items.get(commandKey(sn, id));
    return found && structuredClone(found);
  }

  async readBatch(pointers: readonly CommandQueueMessage[]): Promise<CommandBatchRead> {
    const read: CommandBatchRead = { commands: new Map(), heldThrough: new Map() };
    for (const { sn, id } of pointers) {
      const found = this.items.get(commandKey(sn, id));
      if (found) read.commands.set(commandKey(sn, id), structuredClone(found));
      const held = this.holds.get(sn);
      if (held !== undefined) read.heldThrough.set(sn, held);
    }
    return read;
  }

  async hold(sn: string, through: string): Promise<void> {
    const held = this.holds.get(sn);
    if (held === undefined || held < through) this.holds.set(sn, through);
  }

  async release(sn: string, through: string): Promise<void> {
    if (this.holds.get(sn) === through) this.holds.delete(sn);
  }

  async markWaiting(sn: string, at: string): Promise<void> {
    this.waiting.set(sn, at);
    this.noneWaiting.delete(sn);
  }

  async clearWaiting(sn: string, markedAt: string): Promise<void> {
    if (this.waiting.get(sn) !== markedAt) return;
    this.waiting.delete(sn);
    this.noneWaiting.add(sn);
  }

  async markNoneWaiting(sn: string): Promise<void> {
    if (!this.waiting.has(sn)) this.noneWaiting.add(sn);
  }

  /** From now on listings lag: they show the commands as they are now, until {@link catchUpIndex}. */
  lagIndex(): void {
    this.indexed = structuredClone(this.items);
  }

  catchUpIndex(): void {
    this.indexed = undefined;
  }

  async transition(
    sn: string,
    id: string,
    to: CommandStatus,
    at: string,
    fields: TransitionFields = {},
    onlyFrom: readonly CommandStatus[] = [],
  ): Promise<Command | undefined> {
    const found = this.items.get(commandKey(sn, id));
    if (!found || STATUS_RANK[found.status] >= STATUS_RANK[to]) return undefined;
    if (onlyFrom.length && !onlyFrom.includes(found.status)) return undefined;
    const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    const next: Command = { ...found, ...structuredClone(defined), status: to, updatedAt: at };
    if (fields.reason === undefined && !KEEPS_REASON.includes(to)) delete next.reason;
    this.items.set(commandKey(sn, id), next);
    return structuredClone(next);
  }

  async markEnqueued(sn: string, id: string, at: string, announced: CommandStatus): Promise<void> {
    const found = this.items.get(commandKey(sn, id));
    if (!found) return;
    found.enqueuedAt ??= at;
    found.announcedStatus ??= announced;
  }

  async markAnnounced(sn: string, id: string, status: CommandStatus): Promise<void> {
    const found = this.items.get(commandKey(sn, id));
    if (found?.status === status) found.announcedStatus = status;
  }

  async listByStatus(
    sn: string,
    status: CommandStatus,
    limit: number,
    cursor?: string,
  ): Promise<CommandPage> {
    const mine = this.ofDevice(sn).filter((c) => c.status === status);
    const byCreation = (c: Command) => `${c.createdAt}#${c.id}`;
    return copies(pageOf(sortBy(mine, byCreation), byCreation, `status|${sn}|${status}`, limit, cursor));
  }

  async listByDevice(sn: string, limit: number, cursor?: string): Promise<CommandPage> {
    const byId = (c: Command) => c.id;
    return copies(pageOf(sortBy(this.ofDevice(sn), byId), byId, `device|${sn}`, limit, cursor));
  }

  async countByStatus(sn: string, status: CommandStatus): Promise<number> {
    return this.ofDevice(sn).filter((c) => c.status === status).length;
  }

  private ofDevice(sn: string): Command[] {
    return [...(this.indexed ?? this.items).values()].filter((c) => c.sn === sn);
  }
}

const sortBy = <T>(items: T[], keyOf: (item: T) => string) =>
  items.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));

const copies = (page: CommandPage): CommandPage => ({
  ...page,
  items: page.items.map((c) => structuredClone(c)),
});

/** SQS FIFO deduplicates a repeated deduplication id sent within five minutes. */
export const DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000;

interface OnQueue extends QueuedCommand {
  dedupeId: string;
  receiveCount: number;
  inFlight: boolean;
}

/**
 * The commands FIFO queue in memory: messages in the order sent, a repeated deduplication id dropped
 * within the window (on `clock`, when given), one message group per device whose later messages are
 * not handed out while an earlier one is in flight, and receive counts as SQS keeps them.
 */
export class MemoryCommandQueue implements CommandQueue {
  /** Messages on the queue (in flight or not), in queue order. */
  readonly messages: OnQueue[] = [];
  /** Every pointer accepted, in order, deduplicated ones excluded. */
  readonly accepted: Array<CommandQueueMessage & { dedupeId: string }> = [];
  private readonly seen = new Map<string, number>();
  private nextId = 1;

  constructor(private readonly clock?: { now(): Date }) {}

  async enqueue(messages: Array<CommandQueueMessage & { dedupeId: string }>): Promise<void> {
    const now = this.clock?.now().getTime() ?? 0;
    for (const { sn, id, dedupeId } of messages) {
      const at = this.seen.get(dedupeId);
      if (at !== undefined && now - at < DEDUPLICATION_WINDOW_MS) continue;
      this.seen.set(dedupeId, now);
      this.accepted.push({ sn, id, dedupeId });
      const messageId = `m${this.nextId++}`;
      this.messages.push({ sn, id, dedupeId, messageId, receiveCount: 0, inFlight: false });
    }
  }

  /** Hands out up to `max` messages, a device's in order and none behind one of its in-flight ones. */
  receive(max = 10): QueuedCommand[] {
    const blocked = new Set(this.messages.filter((m) => m.inFlight).map((m) => m.sn));
    const taken: OnQueue[] = [];
    for (const message of this.messages) {
      if (taken.length === max) break;
      if (blocked.has(message.sn)) continue;
      taken.push(message);
    }
    for (const message of taken) {
      message.inFlight = true;
      message.receiveCount++;
    }
    return taken.map(({ sn, id, messageId, receiveCount }) => ({ sn, id, messageId, receiveCount }));
  }

  /**
   * Ends a batch as the Lambda event source does with partial batch responses: the messages named in
   * `failed` become visible again, every other one handed out is deleted.
   */
  settle(batch: readonly QueuedCommand[], failed: readonly string[]): void {
    for (const queued of batch) {
      const at = this.messages.findIndex((m) => m.messageId === queued.messageId);
      const message = this.messages[at];
      if (!message) continue;
      if (failed.includes(queued.messageId)) message.inFlight = false;
      else this.messages.splice(at, 1);
    }
  }

  /** The pointers waiting for one device, in order. */
  pending(sn: string): Array<{ id: string; receiveCount: number }> {
    return this.messages.filter((m) => m.sn === sn).map(({ id, receiveCount }) => ({ id, receiveCount }));
  }
}
