/**
 * EMQX's HTTP action delivery (EMQX-CONTRACT.md §4): one request per rule output, 2xx = done, 429/503 and
 * transport errors retried (3 immediate tries, then every resume interval until `request_ttl`), anything else
 * dropped. One FIFO per (action, client id) stands in for EMQX's buffer workers, so a retrying request holds
 * back the later messages of its client, as EMQX's head-of-line blocking does.
 */
import type { ResolvedAction } from "./definitions.ts";
import type { Log, Metrics } from "./types.ts";

/** One rule output to POST. */
export interface DeliveryRequest {
  action: ResolvedAction;
  /** Queue key: the client id the event belongs to. */
  key: string;
  body: string;
  /** For log lines, e.g. `bridge_attendance message.publish 0006...`. */
  label: string;
}

interface Item {
  request: DeliveryRequest;
  enqueuedAt: number;
}

type Outcome = { kind: "success" } | { kind: "recoverable" | "unrecoverable" | "stopped"; detail: string };

// ehttpc's max_attempts is hard-coded to 3 (contract §4).
const IMMEDIATE_ATTEMPTS = 3;
const RECOVERABLE_STATUSES = new Set([429, 503]);

/** Sends rule outputs with EMQX's retry rules and keeps the counters. */
export class HttpDelivery {
  readonly #log: Log;
  readonly #queues = new Map<string, Item[]>();
  readonly #workers = new Set<Promise<void>>();
  readonly #controllers = new Set<AbortController>();
  readonly #sleepers = new Set<() => void>();
  #idleWaiters: Array<() => void> = [];
  #stopped = false;
  readonly #metrics: Omit<Metrics, "matched" | "inflight"> = {
    success: 0,
    failed: 0,
    retried: 0,
    droppedExpired: 0,
  };
  #pending = 0;

  constructor(log: Log) {
    this.#log = log;
  }

  /** Queues a request behind earlier ones of the same action and client. */
  enqueue(request: DeliveryRequest): void {
    if (this.#stopped) return;
    const key = `${request.action.id}\u0000${request.key}`;
    const queue = this.#queues.get(key);
    this.#pending++;
    if (queue) {
      queue.push({ request, enqueuedAt: Date.now() });
      return;
    }
    this.#queues.set(key, [{ request, enqueuedAt: Date.now() }]);
    const worker = this.#drain(key).finally(() => this.#workers.delete(worker));
    this.#workers.add(worker);
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
    for (const controller of this.#controllers) controller.abort(new Error("stand-in stopped"));
    for (const wake of this.#sleepers) wake();
    await Promise.allSettled([...this.#workers]);
    this.#queues.clear();
    this.#pending = 0;
    this.#wakeIdle();
  }

  async #drain(key: string): Promise<void> {
    const queue = this.#queues.get(key) as Item[];
    for (let item = queue[0]; item && !this.#stopped; item = queue[0]) {
      await this.#deliver(item);
      queue.shift();
      this.#pending--;
    }
    this.#queues.delete(key);
    this.#wakeIdle();
  }

  async #deliver(item: Item): Promise<void> {
    const { action, label } = item.request;
    for (let attempt = 1; !this.#stopped; attempt++) {
      if (Date.now() - item.enqueuedAt >= action.requestTtlMs) {
        this.#metrics.droppedExpired++;
        this.#log(`emqx: ${action.id} dropped ${label}: older than request_ttl (${action.requestTtlMs} ms)`);
        return;
      }
      if (attempt > 1) this.#metrics.retried++;
      const outcome = await this.#send(item.request);
      if (outcome.kind === "success" || outcome.kind === "stopped") {
        if (outcome.kind === "success") this.#metrics.success++;
        return;
      }
      if (outcome.kind === "unrecoverable") {
        this.#metrics.failed++;
        this.#log(`emqx: ${action.id} failed ${label}: ${outcome.detail}, not retried`);
        return;
      }
      const next = attempt < IMMEDIATE_ATTEMPTS ? "now" : `in ${action.resumeIntervalMs} ms`;
      this.#log(`emqx: ${action.id} attempt ${attempt} of ${label}: ${outcome.detail}, retrying ${next}`);
      if (attempt >= IMMEDIATE_ATTEMPTS) await this.#sleep(action.resumeIntervalMs);
    }
  }

  async #send(request: DeliveryRequest): Promise<Outcome> {
    const { action } = request;
    const controller = new AbortController();
    this.#controllers.add(controller);
    // On EMQX >= 5.8.9 the HTTP timeout is request_ttl (contract §3.2).
    const timer = Number.isFinite(action.requestTtlMs)
      ? setTimeout(() => controller.abort(new Error("timeout")), action.requestTtlMs)
      : undefined;
    try {
      const response = await fetch(action.url, {
        method: action.method,
        headers: action.headers,
        ...(action.method === "GET" || action.method === "DELETE" ? {} : { body: request.body }),
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      return classify(response.status);
    } catch (error) {
      if (this.#stopped) return { kind: "stopped", detail: "stopped" };
      return { kind: "recoverable", detail: describeError(error) };
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(controller);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  #wakeIdle(): void {
    if (this.#pending > 0 && !this.#stopped) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function classify(status: number): Outcome {
  if (status >= 200 && status < 300) return { kind: "success" };
  const detail = `HTTP ${status}`;
  return RECOVERABLE_STATUSES.has(status)
    ? { kind: "recoverable", detail }
    : { kind: "unrecoverable", detail };
}

function describeError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
