import { NodeHttpHandler } from "@smithy/node-http-handler";

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

/** SDK client settings for request handlers: few retries, short timeouts. */
export function awsClientConfig(options: AwsClientOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 1_000,
      requestTimeout: options.requestTimeoutMs ?? 2_500,
    }),
  };
}
