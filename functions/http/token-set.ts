import { createHash, timingSafeEqual } from "node:crypto";

/**
 * A set of bearer tokens checked in constant time. Each token's SHA-256 is computed once, when the set is
 * made; a presented token is hashed once per request and compared with every digest, so neither the
 * answer time nor the order of the tokens tells anything about a guess. Hashing first also makes every
 * comparison the same length, whatever was presented.
 *
 * @example
 * const tokens = new TokenSet(["old-token", "new-token"]); // both valid while one is rotated
 * tokens.has(presented); // true or false, same work either way
 */
export class TokenSet {
  readonly #digests: readonly Buffer[];

  constructor(tokens: readonly string[]) {
    if (tokens.length === 0) throw new Error("a token set needs at least one token");
    this.#digests = tokens.map(digest);
  }

  has(presented: string): boolean {
    const candidate = digest(presented);
    let matched = false;
    for (const known of this.#digests) matched = timingSafeEqual(known, candidate) || matched;
    return matched;
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
