import { NodeHttpHandler } from "@smithy/node-http-handler";

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
    requestHandler: new NodeHttpHandler(attemptTimeouts(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS)),
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
