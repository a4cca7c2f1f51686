import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { send, toDomainError } from "../aws-errors.ts";

/**
 * A conditional write whose condition may fail when there is nothing to do (gone already, or moved on):
 * that answers `false`, the write's success `true`, any other failure a domain error.
 */
export async function sendConditional(operation: string, call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw toDomainError(operation, error);
  }
}

/** One item by its key, unmarshalled, or `undefined` when there is none. */
export async function getItem(
  client: DynamoDBClient,
  request: { tableName: string; key: Record<string, string>; consistent?: boolean; what: string },
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await send(`DynamoDB GetItem (${request.what})`, () =>
    client.send(
      new GetItemCommand({
        TableName: request.tableName,
        Key: marshall(request.key),
        ...(request.consistent ? { ConsistentRead: true } : {}),
      }),
    ),
  );
  return Item ? unmarshall(Item) : undefined;
}
