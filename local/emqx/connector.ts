/**
 * EMQX's HTTP connector (emqx_bridge_http_connector + ehttpc, docs/emqx.md §7): a pool of
 * `pool_size` connections that carry `enable_pipelining` requests each, and the way one request's answer is
 * classified and re-sent before the buffer worker sees it.
 */
import type { ConnectorSettings, ResolvedAction } from "./definitions.ts";
import type { Log } from "./types.ts";

/** One rule output to POST. */
export interface DeliveryRequest {
  action: ResolvedAction;
  /** The process the rule ran in; picks the buffer worker. */
  pickKey: string;
  /** The `clientid` column; picks the connection when the connector's `pool_type` is `hash`. */
  clientid: string;
  body: string;
  /** For log lines, e.g. `bridge_attendance message.publish 0006...`. */
  label: string;
}

/** What one request came to, in EMQX's terms. */
export type Outcome =
  | { kind: "success" }
  | { kind: "stopped" }
  | { kind: "status" | "transport"; recoverable: boolean; detail: string };

// transform_result/1 retries these answers; every other status is final.
const RECOVERABLE_STATUSES = new Set([429, 503]);
// The transport failures transform_result/1 calls recoverable: econnrefused, timeout, closed ({closed, _} too).
// Erlang reports a TCP reset as a plain close (inet's show_econnreset is false by default), and gun turns a
// connect that times out into `timeout`. Anything else (nxdomain, ehostunreach, TLS alerts, ...) is not.
const EMQX_REASONS: Record<string, string> = {
  ECONNREFUSED: "econnrefused",
  ECONNRESET: "closed",
  EPIPE: "closed",
  ECONNABORTED: "closed",
  UND_ERR_SOCKET: "closed",
  UND_ERR_CLOSED: "closed",
  ETIMEDOUT: "timeout",
  UND_ERR_CONNECT_TIMEOUT: "timeout",
  UND_ERR_HEADERS_TIMEOUT: "timeout",
  UND_ERR_BODY_TIMEOUT: "timeout",
};
// emqx_bridge_http_connector: `max_attempts` is 3 for async queries; ehttpc:request/5 gets Retry = 2 for sync.
export const CONNECTOR_ATTEMPTS = 3;

/** `pool_size` connections, each carrying at most `enable_pipelining` requests at once. */
export class ConnectionPool {
  readonly #settings: ConnectorSettings;
  readonly #lanes: Array<{ active: number; waiting: Array<() => void> }>;

  constructor(settings: ConnectorSettings) {
    this.#settings = settings;
    this.#lanes = Array.from({ length: settings.poolSize }, () => ({ active: 0, waiting: [] }));
  }

  /** Runs `send` on a connection picked as ehttpc picks it: at random, or by client id for `hash`. */
  async run<T>(clientid: string, send: () => Promise<T>): Promise<T> {
    const index =
      this.#settings.poolType === "hash"
        ? hashIndex(clientid, this.#lanes.length)
        : Math.floor(Math.random() * this.#lanes.length);
    const lane = this.#lanes[index] as { active: number; waiting: Array<() => void> };
    if (lane.active >= this.#settings.pipelining) {
      await new Promise<void>((resolve) => lane.waiting.push(resolve));
    }
    lane.active++;
    try {
      return await send();
    } finally {
      lane.active--;
      lane.waiting.shift()?.();
    }
  }
}

/** Sends single requests and keeps what a stop must abort. */
export class HttpTransport {
  readonly #log: Log;
  readonly #pools = new Map<string, ConnectionPool>();
  readonly #controllers = new Set<AbortController>();
  readonly #onResend: () => void;
  #stopped = false;

  constructor(log: Log, onResend: () => void) {
    this.#log = log;
    this.#onResend = onResend;
  }

  /**
   * An async query (`on_query_async` + `maybe_retry/3`): up to 3 attempts at once for any failure but a final
   * status; the last failure is handed back.
   */
  async sendAsync(request: DeliveryRequest): Promise<Outcome> {
    return this.#attempts(request, (outcome) => outcome.kind !== "status" || outcome.recoverable);
  }

  /** The buffer worker's sync retry (`on_query` → `ehttpc:request/5`): re-sends transport failures only. */
  async sendSync(request: DeliveryRequest): Promise<Outcome> {
    return this.#attempts(request, (outcome) => outcome.kind === "transport");
  }

  stop(): void {
    this.#stopped = true;
    for (const controller of this.#controllers) controller.abort(new Error("stand-in stopped"));
  }

  async #attempts(request: DeliveryRequest, resend: (outcome: Outcome) => boolean): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#pool(request.action.connector).run(request.clientid, () =>
        this.#send(request),
      );
      if (outcome.kind === "success" || outcome.kind === "stopped") return outcome;
      const again = attempt < CONNECTOR_ATTEMPTS && resend(outcome);
      this.#log(
        `emqx: ${request.action.id} attempt of ${request.label}: ${outcome.detail}, ${again ? "re-sent at once" : "handed to the buffer worker"}`,
      );
      if (!again) return outcome;
      this.#onResend();
    }
  }

  #pool(settings: ConnectorSettings): ConnectionPool {
    const existing = this.#pools.get(settings.name);
    if (existing) return existing;
    const pool = new ConnectionPool(settings);
    this.#pools.set(settings.name, pool);
    return pool;
  }

  async #send(request: DeliveryRequest): Promise<Outcome> {
    const { action } = request;
    if (action.sendJitterMs > 0) await sleep(Math.random() * action.sendJitterMs);
    if (this.#stopped) return { kind: "stopped" };
    const controller = new AbortController();
    this.#controllers.add(controller);
    let timedOut = false;
    // On EMQX >= 5.8.9 the HTTP timeout is request_ttl.
    const timer = Number.isFinite(action.requestTtlMs)
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(new Error("timeout"));
        }, action.requestTtlMs)
      : undefined;
    try {
      const response = await fetch(action.url, {
        method: action.method,
        headers: action.headers,
        ...(action.method === "GET" || action.method === "DELETE" ? {} : { body: request.body }),
        signal: controller.signal,
      });
      // A connection lost mid-body is a transport failure (gun_error `closed`), whatever the status said.
      await response.arrayBuffer();
      return classifyStatus(response.status);
    } catch (error) {
      if (this.#stopped) return { kind: "stopped" };
      return classifyError(timedOut ? "timeout" : errorCode(error));
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(controller);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function classifyStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return { kind: "success" };
  return { kind: "status", recoverable: RECOVERABLE_STATUSES.has(status), detail: `HTTP ${status}` };
}

function classifyError(code: string): Outcome {
  const reason = code === "timeout" ? "timeout" : EMQX_REASONS[code];
  return reason
    ? { kind: "transport", recoverable: true, detail: `${code} (${reason})` }
    : { kind: "transport", recoverable: false, detail: `${code} (not econnrefused, timeout or closed)` };
}

/** The Node error code of a fetch failure, from the error or its cause chain. */
function errorCode(error: unknown): string {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const { code, cause, message } = current as { code?: unknown; cause?: unknown; message?: unknown };
    if (typeof code === "string" && code !== "ABORT_ERR") return code;
    if (!cause) return typeof message === "string" ? message : String(current);
    current = cause;
  }
  return String(error);
}

/** A stable spread of keys over `size` slots, like gproc_pool's hash (erlang:phash2/2). */
export function hashIndex(key: string, size: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % size;
}
