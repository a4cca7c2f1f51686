import { BatchGetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { TransientError } from "../../core/errors.ts";
import { send } from "../aws-errors.ts";

type Item = Record<string, unknown>;

/** DynamoDB answers a BatchGetItem in one go unless throttled; past this many calls it is an outage. */
const MAX_CALLS = 4;

/**
 * The items with these keys (at most 100), read consistently in one BatchGetItem, asking again for what
 * DynamoDB left unprocessed. Missing items are simply absent; the order is DynamoDB's, not `keyList`'s.
 * Its own module, not a TableAdapter method, so only the bundles that batch-read carry BatchGetCommand
 * (test/infra/iam-actions.test.ts grants each function the calls its bundle can make).
 */
export async function itemsByKeys(
  documents: DynamoDBDocumentClient,
  tableName: string,
  what: string,
  keyList: Array<Record<string, string>>,
): Promise<Item[]> {
  const items: Item[] = [];
  let pending: Item[] = keyList;
  for (let call = 0; pending.length > 0; call++) {
    if (call === MAX_CALLS)
      throw new TransientError(`DynamoDB left ${what} unread after ${MAX_CALLS} BatchGetItem calls`);
    const keys = pending;
    const { Responses, UnprocessedKeys } = await send(`DynamoDB BatchGetItem (${what})`, () =>
      documents.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
      ),
    );
    items.push(...(Responses?.[tableName] ?? []));
    pending = UnprocessedKeys?.[tableName]?.Keys ?? [];
  }
  return items;
}
