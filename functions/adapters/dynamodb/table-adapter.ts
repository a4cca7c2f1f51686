import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** What every DynamoDB adapter holds: the client, and the one table all the bridge's items live in. */
export abstract class TableAdapter {
  constructor(
    protected readonly client: DynamoDBClient,
    protected readonly tableName: string,
  ) {}
}
