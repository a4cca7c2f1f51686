import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, type BatchWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { mapWithConcurrency } from "../../core/concurrency.ts";
import { TransientError } from "../../core/errors.ts";
import type { QuarantineStore } from "../../core/ports.ts";
import type { QuarantineEntry } from "../../core/quarantine.ts";
import { send } from "../aws-errors.ts";
import { keys, TTL_ATTRIBUTE } from "./keys.ts";
import { TableAdapter } from "./table-adapter.ts";

const DAY_SECONDS = 86_400;
/** DynamoDB's limit of items per BatchWriteItem. */
const BATCH_ITEMS = 25;
/** Batches in flight: 500 entries are 20 batches, so 4 rounds, few connections. */
const BATCH_CONCURRENCY = 4;
/** Rounds for items DynamoDB leaves unprocessed (throttling) before the whole write is a 503. */
const UNPROCESSED_ROUNDS = 5;

type WriteRequest = NonNullable<BatchWriteCommandInput["RequestItems"]>[string][number];

/** Quarantine in DynamoDB, one partition per UTC day, expiring after `retentionDays`. */
export class DynamoDbQuarantineStore extends TableAdapter implements QuarantineStore {
  constructor(
    client: DynamoDBClient,
    tableName: string,
    private readonly retentionDays = 30,
  ) {
    super(client, tableName);
  }

  async put(entry: QuarantineEntry): Promise<void> {
    await this.putItem("quarantine", { Item: this.toItem(entry) });
  }

  async putMany(entries: QuarantineEntry[]): Promise<void> {
    const batches: WriteRequest[][] = [];
    for (let i = 0; i < entries.length; i += BATCH_ITEMS) {
      batches.push(
        entries.slice(i, i + BATCH_ITEMS).map((entry) => ({ PutRequest: { Item: this.toItem(entry) } })),
      );
    }
    await mapWithConcurrency(batches, BATCH_CONCURRENCY, (batch) => this.writeBatch(batch));
  }

  private async writeBatch(requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    for (let round = 0; round < UNPROCESSED_ROUNDS && pending.length; round++) {
      if (round) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
      const batch = pending;
      const result = await send("DynamoDB BatchWriteItem (quarantine)", () =>
        this.documents.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: batch } })),
      );
      pending = result.UnprocessedItems?.[this.tableName] ?? [];
    }
    if (pending.length)
      throw new TransientError(`DynamoDB left ${pending.length} quarantine entries unprocessed`);
  }

  private toItem(entry: QuarantineEntry): Record<string, unknown> {
    const expiresAt = Math.floor(Date.parse(entry.receivedAt) / 1000) + this.retentionDays * DAY_SECONDS;
    return {
      pk: keys.quarantineDay(entry.day),
      sk: keys.quarantineEntry(entry.receivedAt, entry.id),
      type: "quarantine",
      [TTL_ATTRIBUTE]: expiresAt,
      ...entry,
    };
  }
}
