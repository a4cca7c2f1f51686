import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { ApiKey, ApiKeyStore } from "../../core/api-keys.ts";
import { toDomainError } from "../aws-errors.ts";
import { readItem, StoredApiKeyItem } from "./items.ts";
import { TableAdapter } from "./table-adapter.ts";

const PARTITION = "APIKEY";
const CACHE_MS = 30_000;

/**
 * API keys in the table, `APIKEY` / `{sha256}`. Lookups are cached for 30 s per warm function, so a
 * revoked key stops working within that time and a busy API does not read the table on every request.
 */
export class DynamoDbApiKeyStore extends TableAdapter implements ApiKeyStore {
  private readonly cache = new Map<string, { key: ApiKey | undefined; until: number }>();
  private readonly byName = new Map<string, { keys: ApiKey[]; until: number }>();

  async find(hash: string): Promise<ApiKey | undefined> {
    const cached = this.cache.get(hash);
    if (cached && cached.until > Date.now()) return cached.key;
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: PARTITION, sk: hash }) }),
      );
      const found = Item ? toKey(unmarshall(Item)) : undefined;
      const key = found && !found.revokedAt ? found : undefined;
      this.cache.set(hash, { key, until: Date.now() + CACHE_MS });
      return key;
    } catch (error) {
      throw toDomainError("DynamoDB GetItem (api key)", error);
    }
  }

  /**
   * The live keys with this name, for an app the broker knows only by name (the API over MQTT); one Query
   * of the keys' partition, cached 30 s like `find`.
   */
  async activeByName(name: string): Promise<ApiKey[]> {
    const cached = this.byName.get(name);
    if (cached && cached.until > Date.now()) return cached.keys;
    let keys: ApiKey[];
    try {
      keys = (await this.list()).filter((key) => key.name === name && !key.revokedAt);
    } catch (error) {
      throw toDomainError("DynamoDB Query (api keys)", error);
    }
    this.byName.set(name, { keys, until: Date.now() + CACHE_MS });
    return keys;
  }

  async put(key: ApiKey): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall(
          { pk: PARTITION, sk: key.hash, type: "apikey", ...key },
          { removeUndefinedValues: true },
        ),
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  }

  async list(): Promise<ApiKey[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: marshall({ ":pk": PARTITION }),
      }),
    );
    return Items.map((item) => toKey(unmarshall(item)));
  }

  /** Revokes every key with this name; returns how many. */
  async revoke(name: string, at = new Date()): Promise<number> {
    const keys = (await this.list()).filter((k) => k.name === name && !k.revokedAt);
    for (const key of keys) {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: PARTITION, sk: key.hash }),
          UpdateExpression: "SET revokedAt = :at",
          ExpressionAttributeValues: marshall({ ":at": at.toISOString() }),
        }),
      );
    }
    return keys.length;
  }
}

function toKey(item: Record<string, unknown>): ApiKey {
  return readItem(StoredApiKeyItem, item, ["pk", "sk", "type"]);
}
