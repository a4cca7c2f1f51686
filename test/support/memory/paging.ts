import { InvalidInputError } from "../../../functions/core/errors.ts";
import type { Page } from "../../../functions/core/queries.ts";

/**
 * One page of `sorted` (already in the query's order, ascending by `keyOf` unless `descending`), resuming after the cursor's key, the way a
 * DynamoDB Query with `Limit` pages: a full page carries a cursor even when nothing follows, and a
 * cursor from another query is refused as the adapters refuse it (400 naming `cursor`).
 */
export function pageOf<T>(
  sorted: readonly T[],
  keyOf: (item: T) => string,
  query: string,
  limit: number,
  cursor?: string,
  descending = false,
): Page<T> {
  const after = cursor === undefined ? undefined : decode(cursor, query);
  const beyond = (key: string) => (after === undefined ? true : descending ? key < after : key > after);
  const rest = sorted.filter((item) => beyond(keyOf(item)));
  const items = rest.slice(0, limit);
  const last = items.at(-1);
  if (items.length < limit || !last) return { items };
  return { items, cursor: Buffer.from(JSON.stringify({ q: query, k: keyOf(last) })).toString("base64url") };
}

function decode(cursor: string, query: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString()) as { q?: unknown; k?: unknown };
    if (parsed.q === query && typeof parsed.k === "string") return parsed.k;
  } catch {
    // Falls through to the refusal.
  }
  throw new InvalidInputError("malformed", "cursor", "cursor is not one this API returned for this query");
}
