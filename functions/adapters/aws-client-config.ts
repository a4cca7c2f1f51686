import { NodeHttpHandler } from "@smithy/node-http-handler";
import { onDeadlinePassed } from "../core/deadline.ts";

/** Time to open a TCP connection; DynamoDB and SQS answer a SYN in milliseconds. */
export const CONNECTION_TIMEOUT_MS = 1_000;
/** Default per-attempt budget: three attempts plus backoff fit in the handlers' 8 s deadline. */
export const REQUEST_TIMEOUT_MS = 2_500;

export interface AwsClientOptions {
  region?: string;
  /** Set for DynamoDB Local or another stand-in; unset on Lambda. */
  endpoint?: string;
  /** Per-attempt budget; short, so an outage becomes a 503 long before the function times out. */
  requestTimeoutMs?: number;
  /** Only for stand-ins; on Lambda the SDK takes the function role's credentials. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Credentials stand-ins accept; they check none. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

/** SDK client settings for request handlers: few retries, short timeouts that really end an attempt. */
export function awsClientConfig(options: AwsClientOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 3,
    requestHandler: new CancellableHttpHandler(
      attemptTimeouts(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
    ),
  };
}

/**
 * The handler's timeouts. In @smithy/node-http-handler 4.x `requestTimeout` alone only logs a warning and
 * the attempt waits for the service's default socket timeout (300 s for DynamoDB), so an endpoint that
 * accepts and never answers held a request far past any deadline: `throwOnRequestTimeout` makes it end
 * the attempt with a `TimeoutError`, which the SDK retries and `toDomainError` turns into a 503.
 * `socketTimeout` (idle socket) replaces that 300 s default for a response whose body stalls.
 */
function attemptTimeouts(requestTimeoutMs: number) {
  return {
    connectionTimeout: Math.min(CONNECTION_TIMEOUT_MS, requestTimeoutMs),
    requestTimeout: requestTimeoutMs,
    throwOnRequestTimeout: true,
    socketTimeout: requestTimeoutMs,
  };
}

/**
 * How long a request still in flight when its deadline passes may take to answer before it is aborted.
 * Aborting closes its keep-alive connection, and a storm of new connections to DynamoDB costs more than
 * the late answers: a request that answers within this keeps its socket, one that hangs is closed.
 */
export const LATE_ANSWER_GRACE_MS = 1_000;

/**
 * Node's HTTP handler, each request also ended by the deadline it was sent under (`withDeadline`,
 * functions/core/deadline.ts), so work does not run on after the answer: once the deadline has passed an
 * attempt (a retry) is not sent at all, and one in flight is aborted {@link LATE_ANSWER_GRACE_MS} later.
 * One place, so every SDK call of every port honours it without a signal in the ports.
 */
class CancellableHttpHandler extends NodeHttpHandler {
  override async handle(request: HttpRequest, options: HttpHandlerOptions = {}) {
    if (options.abortSignal) return super.handle(request, options);
    const { abortSignal, done } = abortAtDeadline();
    try {
      const answer = await super.handle(request, { ...options, abortSignal });
      doneWhenClosed(answer.response.body, done);
      return answer;
    } catch (error) {
      done();
      throw error;
    }
  }
}

type HttpHandlerOptions = NonNullable<Parameters<NodeHttpHandler["handle"]>[1]>;
type HttpRequest = Parameters<NodeHttpHandler["handle"]>[0];
/** Smithy's plain signal: it sets `onabort` when the request is sent and reads `aborted` before. */
type PlainAbortSignal = { aborted: boolean; onabort: (() => void) | null; reason?: Error };

const DEADLINE_PASSED = new Error("the deadline passed");

/**
 * A plain signal the current deadline aborts, and `done` to call once the exchange is over. Plain, not an
 * `AbortSignal`: the deadline holds the abort only while the call is in flight, so no listener, signal or
 * timer outlives the call, and no `AbortSignal` is made per request.
 */
function abortAtDeadline(): { abortSignal: PlainAbortSignal; done: () => void } {
  const abortSignal: PlainAbortSignal = { aborted: false, onabort: null };
  const abort = () => {
    abortSignal.aborted = true;
    abortSignal.reason = DEADLINE_PASSED;
    abortSignal.onabort?.();
  };
  let grace: NodeJS.Timeout | undefined;
  const release = onDeadlinePassed(() => {
    if (!abortSignal.onabort) return abort();
    grace = setTimeout(abort, LATE_ANSWER_GRACE_MS);
  });
  return {
    abortSignal,
    done: () => {
      clearTimeout(grace);
      release();
    },
  };
}

/** Done once the answer's body is read or destroyed: a stalled body is aborted too. */
function doneWhenClosed(body: unknown, done: () => void): void {
  const stream = body as { once?: (event: string, listener: () => void) => void; closed?: boolean };
  if (typeof stream?.once !== "function" || stream.closed) return void done();
  stream.once("close", done);
}
