import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import type { Page, PageRequest } from "../../core/queries.ts";
import { send } from "../aws-errors.ts";
import { documentClient } from "./client.ts";
import { type CursorRule, decodeCursorKey, encodeCursor } from "./cursor.ts";
import { conditional, sendConditional } from "./send.ts";

/** A query's input without what the table adapter fills in: the table, and where a page starts and stops. */
export type QueryInput = Omit<QueryCommandInput, "TableName" | "Limit" | "ExclusiveStartKey">;

type Item = Record<string, unknown>;

/**
 * What every DynamoDB adapter holds: the client, its DocumentClient (items as plain objects), and the one
 * table all the bridge's items live in. Every Query goes through {@link TableAdapter.query}.
 */
export abstract class TableAdapter {
  protected readonly documents: DynamoDBDocumentClient;

  constructor(
    protected readonly client: DynamoDBClient,
    protected readonly tableName: string,
  ) {
    this.documents = documentClient(client);
  }

  /** The item with this key, read by `read`, or `undefined` when there is none; consistent unless told. */
  protected async itemByKey<T>(
    key: Record<string, string>,
    what: string,
    read: (item: Item) => T,
    consistent = true,
  ): Promise<T | undefined> {
    const { Item } = await send(`DynamoDB GetItem (${what})`, () =>
      this.documents.send(
        new GetCommand({
          TableName: this.tableName,
          Key: key,
          ...(consistent ? { ConsistentRead: true } : {}),
        }),
      ),
    );
    return Item ? read(Item) : undefined;
  }

  /** A PutItem into the table (under `input`'s condition, if any), its failure told as `DynamoDB PutItem (what)`. */
  protected async putItem(what: string, input: Omit<PutCommandInput, "TableName">): Promise<void> {
    await send(`DynamoDB PutItem (${what})`, () =>
      this.documents.send(new PutCommand({ ...input, TableName: this.tableName })),
    );
  }

  /**
   * Puts `item` only over the version read (`expectedVersion`; 0: there was none): false when another
   * write came between the read and this one.
   */
  protected putAtVersion(item: Item, expectedVersion: number, what: string): Promise<boolean> {
    return sendConditional(`DynamoDB PutItem (${what})`, () =>
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: expectedVersion === 0 ? "attribute_not_exists(pk)" : "version = :expected",
          ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ":expected": expectedVersion } }),
        }),
      ),
    );
  }

  /**
   * An UpdateItem under `input`'s condition: false when the condition failed, which the caller's comment
   * says is nothing to do (gone already, or moved on). A conditional delete: `deleteIf` (delete-if.ts).
   */
  protected updateIf(what: string, input: Omit<UpdateCommandInput, "TableName">): Promise<boolean> {
    return sendConditional(`DynamoDB UpdateItem (${what})`, () =>
      this.documents.send(new UpdateCommand({ ...input, TableName: this.tableName })),
    );
  }

  /**
   * A conditional update of the item at `input.Key`: the item after it (`ReturnValues: ALL_NEW`) read by
   * `read`, or `undefined` when its condition failed (the caller's comment says what that means).
   */
  protected async updated<T>(
    what: string,
    input: Omit<UpdateCommandInput, "TableName" | "ReturnValues">,
    read: (item: Item) => T,
  ): Promise<T | undefined> {
    const result = await conditional(`DynamoDB UpdateItem (${what})`, () =>
      this.documents.send(
        new UpdateCommand({ ...input, TableName: this.tableName, ReturnValues: "ALL_NEW" }),
      ),
    );
    return result.passed && result.output.Attributes ? read(result.output.Attributes) : undefined;
  }

  /** One page of a query, each item read by `read`; the cursor (tagged by `rule`) if more may follow. */
  protected async queryPage<T>(
    input: QueryInput,
    page: PageRequest,
    rule: CursorRule,
    read: (item: Item) => T,
  ): Promise<Page<T>> {
    const start = decodeCursorKey(page.cursor, rule);
    const result = await this.query(input, rule.query, { limit: page.limit, start });
    const cursor = encodeCursor(result.LastEvaluatedKey, rule.query);
    return { items: (result.Items ?? []).map(read), ...(cursor ? { cursor } : {}) };
  }

  /** Every item of a query, page after page (DynamoDB stops each call at 1 MB), each read by `read`. */
  protected async queryAll<T>(input: QueryInput, what: string, read: (item: Item) => T): Promise<T[]> {
    const items: T[] = [];
    await this.eachPage(input, what, (page) => {
      for (const item of page.Items ?? []) items.push(read(item));
    });
    return items;
  }

  /** How many items a query matches, counted page after page (`Select: COUNT` reads, returns no items). */
  protected async countAll(input: QueryInput, what: string): Promise<number> {
    let count = 0;
    await this.eachPage({ ...input, Select: "COUNT" }, what, (page) => {
      count += page.Count ?? 0;
    });
    return count;
  }

  /** The paginator: the query again from where the last call stopped, until DynamoDB says it is done. */
  private async eachPage(
    input: QueryInput,
    what: string,
    use: (page: { Items?: Item[]; Count?: number }) => void,
  ): Promise<void> {
    let start: Item | undefined;
    do {
      const page = await this.query(input, what, { start });
      use(page);
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** One Query call on the table, its failure told as `DynamoDB Query (what)`. */
  protected query(input: QueryInput, what: string, from: { limit?: number; start?: Item | undefined } = {}) {
    return send(`DynamoDB Query (${what})`, () =>
      this.documents.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          ...(from.limit ? { Limit: from.limit } : {}),
          ...(from.start ? { ExclusiveStartKey: from.start } : {}),
        }),
      ),
    );
  }
}
