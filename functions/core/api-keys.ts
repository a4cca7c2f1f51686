import { createHash, randomBytes } from "node:crypto";
import * as v from "valibot";

export const SCOPES = ["read", "commands", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Every API key starts so; device tokens never do, which tells a broker login's kind apart. */
export const API_KEY_PREFIX = "bk_";

/**
 * The characters of a key name: an app logs in to the broker with its key's name and sends requests on
 * `app/v1/{name}/requests` (APP_ROOT), so the name is one topic level, and the rules that read it take
 * `[A-Za-z0-9_-]` only: no `.`, no `/`, `+`, `#`.
 */
export const API_KEY_NAME_CHARS = "[A-Za-z0-9_-]{1,64}";
const API_KEY_NAME_PATTERN = new RegExp(`^${API_KEY_NAME_CHARS}$`);

/** An API key's name: key creation, the broker's ACL and the requests topic all read it with this. */
export const ApiKeyName = v.pipe(
  v.string("must be a string"),
  v.regex(
    API_KEY_NAME_PATTERN,
    "must be 1-64 of A-Z a-z 0-9 _ - (it is a level of the MQTT topic app/v1/{name}/requests: no '.')",
  ),
);

/** Why a key name cannot be used, or `undefined` when it can. */
export function apiKeyNameProblem(name: unknown): string | undefined {
  const result = v.safeParse(ApiKeyName, name);
  return result.success ? undefined : `API key name '${String(name)}' ${result.issues[0].message}`;
}

/** An API key as stored: never the key itself, only its SHA-256. */
export interface ApiKey {
  name: string;
  /** Hex SHA-256 of the key. */
  hash: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt?: string;
}

/** Looks keys up by hash; the key itself is never stored. */
export interface ApiKeyStore {
  find(hash: string): Promise<ApiKey | undefined>;
}

/** A key is long random bytes, so a plain SHA-256 is enough (no slow hash needed against guessing). */
export const hashApiKey = (key: string) => createHash("sha256").update(key).digest("hex");

/**
 * A new key and the record to store for it; the key is shown once and never kept.
 *
 * @example
 * const { key, record } = newApiKey("ops-dashboard", ["read"]);
 */
export function newApiKey(name: string, scopes: Scope[], now = new Date()): { key: string; record: ApiKey } {
  const problem = apiKeyNameProblem(name);
  if (problem) throw new RangeError(problem);
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  return { key, record: { name, hash: hashApiKey(key), scopes, createdAt: now.toISOString() } };
}

/** `admin` may do everything; `commands` may also read commands. */
export function allows(key: ApiKey, needed: Scope): boolean {
  if (key.scopes.includes("admin")) return true;
  return key.scopes.includes(needed);
}

/** Keys given in configuration (hashed on load, so only hashes stay in memory). */
export class StaticApiKeyStore implements ApiKeyStore {
  private readonly byHash: Map<string, ApiKey>;

  constructor(keys: Array<{ name: string; key: string; scopes: Scope[] }>) {
    const createdAt = new Date(0).toISOString();
    this.byHash = new Map(
      keys.map(({ name, key, scopes }) => [
        hashApiKey(key),
        { name, hash: hashApiKey(key), scopes, createdAt },
      ]),
    );
  }

  async find(hash: string): Promise<ApiKey | undefined> {
    return this.byHash.get(hash);
  }
}

/** Tries each store in turn: configuration keys first, then the table. */
export function firstOf(...stores: ApiKeyStore[]): ApiKeyStore {
  return {
    async find(hash) {
      for (const store of stores) {
        const found = await store.find(hash);
        if (found) return found;
      }
      return undefined;
    },
  };
}
