import { type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { QuarantineStore } from "../../core/ports.ts";
import type { QuarantineEntry } from "../../core/quarantine.ts";
import { toDomainError } from "../aws-errors.ts";
import { keys, TTL_ATTRIBUTE } from "./keys.ts";

const DAY_SECONDS = 86_400;

/** Quarantine in DynamoDB, one partition per UTC day, expiring after `retentionDays`. */
export class DynamoDbQuarantineStore implements QuarantineStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly retentionDays = 30,
  ) {}

  async put(entry: QuarantineEntry): Promise<void> {
    const expiresAt = Math.floor(Date.parse(entry.receivedAt) / 1000) + this.retentionDays * DAY_SECONDS;
    const item = {
      pk: keys.quarantineDay(entry.day),
      sk: keys.quarantineEntry(entry.receivedAt, entry.id),
      type: "quarantine",
      [TTL_ATTRIBUTE]: expiresAt,
      ...entry,
    };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(item, { removeUndefinedValues: true }),
        }),
      );
    } catch (error) {
      throw toDomainError("DynamoDB PutItem (quarantine)", error);
    }
  }
}
