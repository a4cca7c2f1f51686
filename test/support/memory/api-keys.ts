import { type ApiKey, type ApiKeyStore, newApiKey, type Scope } from "../../../functions/core/api-keys.ts";

/**
 * API keys in memory, by hash, as the table keeps them (never the key itself). Like the DynamoDB store, a
 * revoked key is not found; unlike it, nothing is cached (the adapter's 30 s cache is its own concern).
 */
export class MemoryApiKeyStore implements ApiKeyStore {
  readonly byHash = new Map<string, ApiKey>();
  reads = 0;

  async find(hash: string): Promise<ApiKey | undefined> {
    this.reads++;
    const found = this.byHash.get(hash);
    return found && !found.revokedAt ? structuredClone(found) : undefined;
  }

  /** The live keys with this name (what the broker knows an app by). */
  async activeByName(name: string): Promise<ApiKey[]> {
    return [...this.byHash.values()]
      .filter((k) => k.name === name && !k.revokedAt)
      .map((k) => structuredClone(k));
  }

  /** Makes a key, stores its record and returns the key (shown once, as the CLI does). */
  issue(name: string, scopes: Scope[], now = new Date()): string {
    const { key, record } = newApiKey(name, scopes, now);
    this.byHash.set(record.hash, record);
    return key;
  }

  revoke(name: string, at = new Date()): void {
    for (const key of this.byHash.values()) if (key.name === name) key.revokedAt = at.toISOString();
  }
}
