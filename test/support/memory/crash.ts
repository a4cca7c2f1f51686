import type { AttendanceDeps } from "../../../functions/core/attendance.ts";
import { TransientError } from "../../../functions/core/errors.ts";
import type { AttendanceStore, Clock, EventQueue } from "../../../functions/core/ports.ts";

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
