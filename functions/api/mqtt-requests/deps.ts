import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDbApiKeyStore } from "../../adapters/dynamodb/api-key-store.ts";
import { DynamoDbAnswerStore } from "../../adapters/dynamodb/request-answers.ts";
import { type EmqxApiOptions, EmqxPublishClient } from "../../adapters/emqx/publish-client.ts";
import { emqxAnswerPublisher } from "./publisher.ts";
import type { AppRequestsDeps } from "./route.ts";

/**
 * The API over MQTT on DynamoDB and EMQX's publish API. Unset when EMQX's token or publish API is missing:
 * the route is then not served, and EMQX drops what its requests rule posts (a 4xx, docs/emqx.md §7.1).
 */
export function appRequestsDeps(options: {
  tokens: readonly string[] | undefined;
  dynamodb: DynamoDBClient;
  tableName: string;
  emqx: Partial<EmqxApiOptions>;
}): AppRequestsDeps | undefined {
  const { baseUrl, apiKey, apiSecret } = options.emqx;
  if (!options.tokens?.length || !baseUrl || !apiKey || !apiSecret) return undefined;
  const emqx = new EmqxPublishClient({ ...options.emqx, baseUrl, apiKey, apiSecret });
  return {
    tokens: options.tokens,
    keys: new DynamoDbApiKeyStore(options.dynamodb, options.tableName),
    answers: new DynamoDbAnswerStore(options.dynamodb, options.tableName),
    publisher: emqxAnswerPublisher(emqx),
  };
}
