import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ApiKey, ApiKeyStore } from "../../core/api-keys.ts";
import { send } from "../aws-errors.ts";
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
    const found = await this.itemByKey({ pk: PARTITION, sk: hash }, "api key", toKey, false);
    const key = found && !found.revokedAt ? found : undefined;
    this.cache.set(hash, { key, until: Date.now() + CACHE_MS });
    return key;
  }

  /**
   * The live keys with this name, for an app the broker knows only by name (the API over MQTT); one Query
   * of the keys' partition, cached 30 s like `find`.
   */
  async activeByName(name: string): Promise<ApiKey[]> {
    const cached = this.byName.get(name);
    if (cached && cached.until > Date.now()) return cached.keys;
    const keys = (await this.list()).filter((key) => key.name === name && !key.revokedAt);
    this.byName.set(name, { keys, until: Date.now() + CACHE_MS });
    return keys;
  }

  async put(key: ApiKey): Promise<void> {
    await this.putItem("api key", {
      Item: { pk: PARTITION, sk: key.hash, type: "apikey", ...key },
      ConditionExpression: "attribute_not_exists(pk)",
    });
  }

  list(): Promise<ApiKey[]> {
    return this.queryAll(
      { KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": PARTITION } },
      "api keys",
      toKey,
    );
  }

  /** Revokes every key with this name; returns how many. */
  async revoke(name: string, at = new Date()): Promise<number> {
    const keys = (await this.list()).filter((k) => k.name === name && !k.revokedAt);
    for (const key of keys) {
      await send("DynamoDB UpdateItem (api key)", () =>
        this.documents.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: PARTITION, sk: key.hash },
            UpdateExpression: "SET revokedAt = :at",
            ExpressionAttributeValues: { ":at": at.toISOString() },
          }),
        ),
      );
    }
    return keys.length;
  }
}

function toKey(item: Record<string, unknown>): ApiKey {
  return readItem(StoredApiKeyItem, item, ["pk", "sk", "type"]);
}
