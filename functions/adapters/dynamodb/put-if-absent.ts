import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { marshallItem, toDomainError } from "../aws-errors.ts";

/**
 * Puts `item` unless an item with its key exists; then returns the stored one
 * (`ReturnValuesOnConditionCheckFailure`), so a duplicate costs exactly one write and no read.
 */
export async function putIfAbsent<T>(
  client: DynamoDBClient,
  tableName: string,
  item: Record<string, unknown>,
  read: { what: string; fromItem: (item: Record<string, unknown>) => T },
): Promise<{ created: true } | { created: false; existing: T }> {
  const { what } = read;
  const marshalled = marshallItem(item, what);
  try {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshalled,
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return { created: true };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException && error.Item) {
      return { created: false, existing: read.fromItem(unmarshall(error.Item)) };
    }
    throw toDomainError(`DynamoDB PutItem (${what})`, error);
  }
}
