import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { JOBS_INDEX, JOBS_INDEX_KEYS } from "./job-store.ts";
import { GSI1, TTL_ATTRIBUTE } from "./keys.ts";

/** The table as the CDK stack declares it; used to create it on DynamoDB Local. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  const attributes = ["pk", "sk", "gsi1pk", "gsi1sk", JOBS_INDEX_KEYS.partition];
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: attributes.map((name) => ({ AttributeName: name, AttributeType: "S" })),
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: GSI1,
        KeySchema: [
          { AttributeName: "gsi1pk", KeyType: "HASH" },
          { AttributeName: "gsi1sk", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
      {
        IndexName: JOBS_INDEX,
        KeySchema: [
          { AttributeName: JOBS_INDEX_KEYS.partition, KeyType: "HASH" },
          { AttributeName: JOBS_INDEX_KEYS.sort, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ],
  };
}

/** Creates the table if it is missing; safe to call on every start. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(tableDefinition(tableName)));
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
  } catch (error) {
    if (error instanceof ResourceInUseException) return;
    throw error;
  }
}
