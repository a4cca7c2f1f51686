import { type ApiKey, type ApiKeyStore, newApiKey, type Scope } from "../../../functions/core/api-keys.ts";

/** API keys in memory, by hash, as the table keeps them (never the key itself). */
export class MemoryApiKeyStore implements ApiKeyStore {
  readonly byHash = new Map<string, ApiKey>();
  reads = 0;

  async find(hash: string): Promise<ApiKey | undefined> {
    this.reads++;
    const found = this.byHash.get(hash);
    return found && structuredClone(found);
  }

  /** Makes a key, stores its record and returns the key (shown once, as the CLI does). */
  issue(name: string, scopes: Scope[], now = new Date()): string {
    const { key, record } = newApiKey(name, scopes, now);
    this.byHash.set(record.hash, record);
    return key;
  }
}
