import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type AwsClientOptions, awsClientConfig } from "../aws-client-config.ts";

export { type AwsClientOptions, LOCAL_CREDENTIALS } from "../aws-client-config.ts";

/** A DynamoDB client tuned for request handlers: few retries, short timeouts. */
export function createDynamoDbClient(options: AwsClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(awsClientConfig(options));
}

/**
 * How items become DynamoDB attribute values, by the DocumentClient and by hand (`putIfAbsent`) alike.
 * Frozen: lib-dynamodb writes `convertTopLevelContainer` into the options it is given, which would make
 * `marshall` wrap a whole item in `{ M: ... }`; the DocumentClient gets a copy.
 */
export const MARSHALL_OPTIONS = Object.freeze({
  removeUndefinedValues: true,
  convertClassInstanceToMap: true,
});

/**
 * One DocumentClient per DynamoDB client: lib-dynamodb writes its options into the client's config, so a
 * second one with other options would change the first's. It shares the client's middleware stack, so
 * what counts or fails the client's requests (bench, tests) sees the stores' requests too.
 */
const documentClients = new WeakMap<DynamoDBClient, DynamoDBDocumentClient>();

/**
 * The stores' client: items in and out as plain objects. Optional fields left `undefined` are dropped,
 * as `marshall` was told to before; numbers are checked before the write (`checkStorable`), since the
 * SDK's own refusal would come out of `send` as an outage.
 */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  let documents = documentClients.get(client);
  if (!documents) {
    documents = DynamoDBDocumentClient.from(client, { marshallOptions: { ...MARSHALL_OPTIONS } });
    documentClients.set(client, documents);
  }
  return documents;
}
