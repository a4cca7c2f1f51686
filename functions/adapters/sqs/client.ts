import { SQSClient } from "@aws-sdk/client-sqs";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { AwsClientOptions } from "../dynamodb/client.ts";

/** An SQS client tuned for request handlers: few retries, short timeouts. */
export function createSqsClient(options: AwsClientOptions = {}): SQSClient {
  return new SQSClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 1_000,
      requestTimeout: options.requestTimeoutMs ?? 2_500,
    }),
  });
}
