import type { AttendanceDeps } from "../../functions/core/attendance.ts";
import { TransientError } from "../../functions/core/errors.ts";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import type {
  AttendanceStore,
  Clock,
  EventQueue,
  PutAttendanceResult,
  SendOptions,
  StoredAttendance,
} from "../../functions/core/ports.ts";
import { FanoutRefusedError } from "../../functions/core/refusal.ts";

/** A clock the test moves. */
export class FakeClock implements Clock {
  constructor(private ms = Date.parse("2026-11-22T08:00:00.000Z")) {}

  now(): Date {
    return new Date(this.ms);
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * AttendanceStore with the DynamoDB one's contract, in memory: a conditional put that returns the stored
 * punch when it fails, and a delete conditional on `storedBy`. Items are copied in and out, as DynamoDB would.
 */
export class MemoryAttendanceStore implements AttendanceStore {
  /** By eventId, which is one-to-one with the natural key. */
  readonly items = new Map<string, StoredAttendance>();
  readonly counts = { puts: 0, discards: 0 };

  async putIfAbsent(record: StoredAttendance): Promise<PutAttendanceResult> {
    this.counts.puts++;
    const existing = this.items.get(record.eventId);
    if (existing) return { created: false, existing: structuredClone(existing) };
    this.items.set(record.eventId, structuredClone(record));
    return { created: true };
  }

  async discard(record: StoredAttendance): Promise<void> {
    this.counts.discards++;
    if (this.items.get(record.eventId)?.storedBy === record.storedBy) this.items.delete(record.eventId);
  }
}

/** A message as the queue took it, with the deduplication id the SQS adapter would give it. */
export interface QueuedMessage {
  message: FanoutMessage;
  deduplicationId: string;
}

/**
 * EventQueue in memory. Every send lands (the FIFO queue's deduplication is left out on purpose: what
 * consumers see must be right without it). `refuse` names messages refused for their content.
 */
export class MemoryAttendanceQueue implements EventQueue {
  readonly sent: QueuedMessage[] = [];
  readonly counts = { sends: 0 };
  refuse: (message: FanoutMessage) => string | undefined = () => undefined;

  async send(messages: FanoutMessage[], options: SendOptions = {}): Promise<void> {
    this.counts.sends++;
    const refused = messages.flatMap((message) => {
      const reason = this.refuse(message);
      return reason ? [{ eventId: message.eventId, reason }] : [];
    });
    for (const message of messages) {
      if (refused.some((r) => r.eventId === message.eventId)) continue;
      const deduplicationId = options.resendId ? `${message.eventId}:${options.resendId}` : message.eventId;
      this.sent.push({ message: structuredClone(message), deduplicationId });
    }
    if (refused.length) throw new FanoutRefusedError(refused);
  }

  /** What a consumer that drops repeats by `eventId` gets: each eventId once, the first copy. */
  consumed(): FanoutMessage[] {
    const byId = new Map<string, FanoutMessage>();
    for (const { message } of this.sent) if (!byId.has(message.eventId)) byId.set(message.eventId, message);
    return [...byId.values()];
  }
}

/** The process died: the rest of the call never runs. */
export class ProcessCrash extends Error {
  override readonly name = "ProcessCrash";
}

/**
 * A fault at one step of a run. Each call a port receives is a step, numbered from 0 in the order made.
 * `crash-before`: the process dies as the call is made (it never takes effect); `crash-after`: it dies
 * right after the call took effect; `fail`: the call fails as in an outage and the run goes on;
 * `fail-after`: the call took effect but its answer was lost (a timeout), and the run goes on.
 */
export interface Fault {
  at: number;
  kind: "crash-before" | "crash-after" | "fail" | "fail-after";
}

export const FAULT_KINDS: Fault["kind"][] = ["crash-before", "crash-after", "fail", "fail-after"];

/**
 * One function instance over a shared store and queue. Its ports are its own objects, so what it
 * remembers (what it sent) lives and dies with it; after a crash every call it makes throws.
 */
export class FunctionInstance {
  readonly deps: AttendanceDeps;
  /** The calls its ports received, in order: `put`, `send`, `discard`. */
  readonly steps: string[] = [];
  private faults: Fault[] = [];
  /** Where the steps the faults count from begin. */
  private armedAt = 0;
  private crashed = false;

  /** It crashed: a retry goes to another instance. */
  get dead(): boolean {
    return this.crashed;
  }

  constructor(store: AttendanceStore, queue: EventQueue, clock: Clock, ...faults: Fault[]) {
    this.arm(...faults);
    this.deps = {
      attendance: {
        putIfAbsent: (record) => this.step("put", () => store.putIfAbsent(record)),
        discard: (record) => this.step("discard", () => store.discard(record)),
      },
      events: { send: (messages, options) => this.step("send", () => queue.send(messages, options)) },
      clock,
    };
  }

  /** Sets the faults of the next run, numbered from its first call; none: the next run goes well. */
  arm(...faults: Fault[]): void {
    this.faults = faults;
    this.armedAt = this.steps.length;
  }

  private async step<T>(name: string, call: () => Promise<T>): Promise<T> {
    if (this.crashed) throw new ProcessCrash("the process is gone");
    const index = this.steps.push(name) - 1 - this.armedAt;
    const kind = this.faults.find((fault) => fault.at === index)?.kind;
    if (kind === "crash-before") return this.crash();
    if (kind === "fail") throw new TransientError(`${name} failed (injected outage)`);
    const outcome = await call().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if (kind === "crash-after") return this.crash();
    if (kind === "fail-after") throw new TransientError(`${name} timed out after it took effect (injected)`);
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  }

  private crash(): never {
    this.crashed = true;
    throw new ProcessCrash("killed between two steps");
  }
}
