/**
 * EMQX's HTTP action delivery (docs/emqx.md §7): one request per rule output; 2xx is done;
 * 429, 503, econnrefused, timeout and closed are retried; other statuses are dropped at once and other
 * transport errors after the connector's 3 tries. Each action has `worker_pool_size` buffer workers; a
 * request goes to the worker its process hashes to, so head-of-line blocking stalls only that worker's
 * share of the clients, while `inflight_window` > 1 lets one worker's requests overtake each other.
 */
import { BufferWorker, type DeliveryMetrics } from "./buffer-worker.ts";
import { type DeliveryRequest, HttpTransport, hashIndex } from "./connector.ts";
import type { Log, Metrics } from "./types.ts";

export type { DeliveryRequest } from "./connector.ts";

/** Sends rule outputs with EMQX's retry rules and keeps the counters. */
export class HttpDelivery {
  readonly #log: Log;
  readonly #transport: HttpTransport;
  readonly #workers = new Map<string, BufferWorker[]>();
  readonly #metrics: DeliveryMetrics = { success: 0, failed: 0, retried: 0, droppedExpired: 0, lateReply: 0 };
  #idleWaiters: Array<() => void> = [];
  #pending = 0;
  #stopped = false;

  constructor(log: Log) {
    this.#log = log;
    this.#transport = new HttpTransport(log, () => this.#metrics.retried++);
  }

  /** Hands a request to the buffer worker its process hashes to (gproc_pool `hash` on the pick key). */
  enqueue(request: DeliveryRequest): void {
    if (this.#stopped) return;
    const workers = this.#workersOf(request);
    this.#pending++;
    workers[hashIndex(request.pickKey, workers.length)]?.push(request);
  }

  metrics(): Omit<Metrics, "matched"> {
    return { ...this.#metrics, inflight: this.#pending };
  }

  /** Resolves once every accepted request has finished (or the delivery was stopped). */
  idle(): Promise<void> {
    if (this.#pending === 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Aborts requests in flight and forgets queued ones, like a broker restart (EMQX buffers are volatile). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#transport.stop();
    for (const workers of this.#workers.values()) for (const worker of workers) worker.stop();
    this.#pending = 0;
    this.#wakeIdle();
  }

  #workersOf(request: DeliveryRequest): BufferWorker[] {
    const { action } = request;
    const existing = this.#workers.get(action.id);
    if (existing) return existing;
    const context = {
      transport: this.#transport,
      metrics: this.#metrics,
      log: this.#log,
      finished: () => this.#finished(),
      stopped: () => this.#stopped,
    };
    const workers = Array.from(
      { length: action.workerPoolSize },
      () => new BufferWorker(context, action.inflightWindow, action.resumeIntervalMs),
    );
    this.#workers.set(action.id, workers);
    return workers;
  }

  #finished(): void {
    if (this.#stopped) return;
    this.#pending--;
    this.#wakeIdle();
  }

  #wakeIdle(): void {
    if (this.#pending > 0 && !this.#stopped) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
