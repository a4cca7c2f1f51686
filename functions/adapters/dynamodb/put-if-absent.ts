import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { checkStorable, toDomainError } from "../aws-errors.ts";
import { documentClient } from "./client.ts";
import { conditional } from "./send.ts";

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
  const operation = `DynamoDB PutItem (${read.what})`;
  checkStorable(item, read.what);
  const result = await conditional(operation, () =>
    documentClient(client).send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    ),
  );
  if (result.passed) return { created: true };
  // The condition is only on the key, so it fails only when there is an item, which DynamoDB returns.
  if (!result.stored) throw toDomainError(operation, new Error("condition failed without the stored item"));
  return { created: false, existing: read.fromItem(result.stored) };
}
