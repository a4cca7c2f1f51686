import { type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { checkStorable, toDomainError } from "../aws-errors.ts";
import { MARSHALL_OPTIONS } from "./client.ts";
import { conditional } from "./send.ts";

/**
 * Puts `item` unless an item with its key exists; then returns the stored one
 * (`ReturnValuesOnConditionCheckFailure`), so a duplicate costs exactly one write and no read.
 *
 * Every new punch takes this path, so it marshals the item itself and sends a plain `PutItem`: the
 * DocumentClient would do the same marshalling, after resolving a second middleware stack around the
 * client command's for each command (~0.1 ms of CPU a request in the ingest's profile, docs/decisions.md).
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
    client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall(item, MARSHALL_OPTIONS),
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
