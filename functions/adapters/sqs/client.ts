import { SQSClient } from "@aws-sdk/client-sqs";
import { type AwsClientOptions, awsClientConfig } from "../aws-client-config.ts";

/** An SQS client tuned for request handlers: few retries, short timeouts. */
export function createSqsClient(options: AwsClientOptions = {}): SQSClient {
  return new SQSClient(awsClientConfig(options));
}
