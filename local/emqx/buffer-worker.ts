/**
 * One EMQX buffer worker (emqx_resource_buffer_worker, docs/emqx.md §7). Requests wait in
 * a queue and are sent in order, but up to `inflight_window` at once, so a later request can be answered (and
 * processed by the ingest) before an earlier one. A request still failing recoverably after the connector's
 * tries blocks the whole worker: nothing new is sent, and every resume interval the oldest such request is
 * retried alone, until it succeeds, fails for good or outlives `request_ttl`. Other workers go on.
 */
import type { DeliveryRequest, HttpTransport, Outcome } from "./connector.ts";
import type { Log, Metrics } from "./types.ts";

export type DeliveryMetrics = Omit<Metrics, "matched" | "inflight">;

/** What a worker shares with its pool. */
export interface WorkerContext {
  transport: HttpTransport;
  metrics: DeliveryMetrics;
  log: Log;
  /** Called once per request that reached an end (sent, dropped or expired). */
  finished(): void;
  stopped(): boolean;
}

interface Entry {
  request: DeliveryRequest;
  /** ms; `enqueue time + request_ttl`, as `ensure_expire_at/1` sets it. */
  expireAt: number;
  /** Marked after a recoverable failure; retried by the blocked worker (`mark_inflight_as_retriable`). */
  retriable: boolean;
}

export class BufferWorker {
  readonly #context: WorkerContext;
  readonly #window: number;
  readonly #resumeIntervalMs: number;
  readonly #queue: Entry[] = [];
  // Insertion order is send order, so the first retriable entry is the oldest (the inflight table is ordered).
  readonly #inflight = new Set<Entry>();
  #blocked = false;
  #resuming = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(context: WorkerContext, window: number, resumeIntervalMs: number) {
    this.#context = context;
    this.#window = window;
    this.#resumeIntervalMs = resumeIntervalMs;
  }

  push(request: DeliveryRequest): void {
    this.#queue.push({ request, expireAt: Date.now() + request.action.requestTtlMs, retriable: false });
    if (!this.#blocked) this.#flush();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#queue.length = 0;
  }

  /** `flush/1`: pops queued requests while the window has room; expired ones are dropped unsent. */
  #flush(): void {
    while (!this.#blocked && this.#queue.length > 0 && this.#inflight.size < this.#window) {
      const entry = this.#queue.shift() as Entry;
      if (Date.now() >= entry.expireAt) {
        this.#expire(entry);
        continue;
      }
      this.#inflight.add(entry);
      void this.#sendAsync(entry);
    }
  }

  async #sendAsync(entry: Entry): Promise<void> {
    const outcome = await this.#context.transport.sendAsync(entry.request);
    if (outcome.kind === "stopped" || this.#context.stopped()) return;
    // handle_async_reply1/2: an answer after the deadline is dropped as late_reply, whatever it says.
    if (Date.now() >= entry.expireAt) {
      this.#context.metrics.lateReply++;
      this.#context.log(`emqx: ${entry.request.action.id} late reply for ${entry.request.label}, dropped`);
      this.#remove(entry);
      return;
    }
    if (outcome.kind !== "success" && outcome.recoverable) {
      entry.retriable = true;
      this.#block();
      return;
    }
    this.#conclude(entry, outcome);
    this.#remove(entry);
  }

  #block(): void {
    this.#blocked = true;
    // Already counting down or retrying: that retry will find this request too.
    if (this.#timer || this.#resuming) return;
    this.#resumeLater();
  }

  #resumeLater(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#resume();
    }, this.#resumeIntervalMs);
  }

  /** `resume_from_blocked/1`: retry the oldest retriable request synchronously, then the next, then run. */
  async #resume(): Promise<void> {
    if (this.#resuming || this.#context.stopped()) return;
    this.#resuming = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      for (let entry = this.#firstRetriable(); entry; entry = this.#firstRetriable()) {
        if (Date.now() >= entry.expireAt) {
          this.#inflight.delete(entry);
          this.#expire(entry);
          continue;
        }
        this.#context.metrics.retried++;
        const outcome = await this.#context.transport.sendSync(entry.request);
        if (outcome.kind === "stopped" || this.#context.stopped()) return;
        if (outcome.kind !== "success" && outcome.recoverable) {
          this.#logWait(entry);
          this.#resumeLater();
          return;
        }
        this.#conclude(entry, outcome);
        this.#inflight.delete(entry);
        this.#context.finished();
      }
      // With a full window the worker stays blocked; the next answer that frees a slot resumes it.
      if (this.#inflight.size >= this.#window) return;
      this.#blocked = false;
      this.#flush();
    } finally {
      this.#resuming = false;
    }
  }

  #firstRetriable(): Entry | undefined {
    for (const entry of this.#inflight) if (entry.retriable) return entry;
    return undefined;
  }

  /** `ack_inflight/3`: a slot frees; a full window that had stopped a blocked worker makes it resume now. */
  #remove(entry: Entry): void {
    const wasFull = this.#inflight.size >= this.#window;
    this.#inflight.delete(entry);
    this.#context.finished();
    if (!this.#blocked) this.#flush();
    else if (wasFull) void this.#resume();
  }

  #conclude(entry: Entry, outcome: Outcome): void {
    if (outcome.kind === "success") {
      this.#context.metrics.success++;
      return;
    }
    if (outcome.kind === "stopped") return;
    this.#context.metrics.failed++;
    this.#context.log(
      `emqx: ${entry.request.action.id} failed ${entry.request.label}: ${outcome.detail}, not retried`,
    );
  }

  #expire(entry: Entry): void {
    this.#context.metrics.droppedExpired++;
    const { action, label } = entry.request;
    this.#context.log(
      `emqx: ${action.id} dropped ${label}: older than request_ttl (${action.requestTtlMs} ms)`,
    );
    this.#context.finished();
  }

  #logWait(entry: Entry): void {
    const { action, label } = entry.request;
    this.#context.log(
      `emqx: ${action.id} worker blocked by ${label}, next retry in ${this.#resumeIntervalMs} ms`,
    );
  }
}
