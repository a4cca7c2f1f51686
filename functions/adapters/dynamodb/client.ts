import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type AwsClientOptions, awsClientConfig } from "../aws-client-config.ts";

export { type AwsClientOptions, LOCAL_CREDENTIALS } from "../aws-client-config.ts";

/** A DynamoDB client tuned for request handlers: few retries, short timeouts. */
export function createDynamoDbClient(options: AwsClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(awsClientConfig(options));
}
