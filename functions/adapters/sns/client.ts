import { SNSClient } from "@aws-sdk/client-sns";
import { type AwsClientOptions, awsClientConfig } from "../aws-client-config.ts";

/** An SNS client tuned for request handlers, as the SQS one: few retries, short timeouts. */
export function createSnsClient(options: AwsClientOptions = {}): SNSClient {
  return new SNSClient(awsClientConfig(options));
}
