import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { PageRequest } from "../../core/queries.ts";
import { send } from "../aws-errors.ts";
import { type CursorRule, decodeCursor, encodeCursor } from "./cursor.ts";

/** A query's input without what the table adapter fills in: the table, and where a page starts and stops. */
export type QueryInput = Omit<QueryCommandInput, "TableName" | "Limit" | "ExclusiveStartKey">;

/** What every DynamoDB adapter holds: the client, and the one table all the bridge's items live in. */
export abstract class TableAdapter {
  constructor(
    protected readonly client: DynamoDBClient,
    protected readonly tableName: string,
  ) {}

  /** One page of a query, its items unmarshalled; the cursor (tagged by `rule`) if more may follow. */
  protected async queryPage(input: QueryInput, page: PageRequest, rule: CursorRule, what: string) {
    const start = decodeCursor(page.cursor, rule);
    const result = await send(`DynamoDB Query (${what})`, () =>
      this.client.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          Limit: page.limit,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      ),
    );
    const cursor = encodeCursor(result.LastEvaluatedKey, rule.query);
    return { items: (result.Items ?? []).map((item) => unmarshall(item)), ...(cursor ? { cursor } : {}) };
  }

  /** Every item of a query, page after page (DynamoDB stops each call at 1 MB), unmarshalled. */
  protected async queryAll(input: QueryInput, what: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    await this.eachPage(input, what, (page) => {
      for (const item of page.Items ?? []) items.push(unmarshall(item));
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

  private async eachPage(
    input: QueryInput,
    what: string,
    use: (page: { Items?: Record<string, AttributeValue>[]; Count?: number }) => void,
  ): Promise<void> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await send(`DynamoDB Query (${what})`, () =>
        this.client.send(
          new QueryCommand({
            ...input,
            TableName: this.tableName,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      use(page);
      start = page.LastEvaluatedKey;
    } while (start);
  }
}
