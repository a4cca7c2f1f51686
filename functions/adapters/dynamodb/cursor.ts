import { createHash } from "node:crypto";
import { InvalidInputError } from "../../core/errors.ts";
import { isWellFormedText } from "../../core/schemas/storable.ts";

/** What a cursor must match: the query it came from, its key's attributes, and where the key may lie. */
export interface CursorRule {
  /** Identifies the query (route and parameters); a cursor from any other query is refused. */
  query: string;
  keyAttributes: readonly string[];
  /** Whether the decoded key (string values) lies where this query reads. */
  accept: (key: Record<string, string>) => boolean;
}

const queryTag = (query: string) => createHash("sha256").update(query).digest("base64url").slice(0, 16);

/**
 * DynamoDB's LastEvaluatedKey as an opaque cursor, bound to the query that produced it. The DocumentClient
 * hands the key over as plain strings; it is kept in DynamoDB's own form (`{ "pk": { "S": ... } }`), as the
 * raw client returned it, so cursors handed out before the stores moved to the DocumentClient still read.
 */
export function encodeCursor(key: Record<string, unknown> | undefined, query: string): string | undefined {
  if (!key) return undefined;
  const k = Object.fromEntries(
    Object.entries(key).map(([name, value]) => [name, typeof value === "string" ? { S: value } : value]),
  );
  return Buffer.from(JSON.stringify({ q: queryTag(query), k })).toString("base64url");
}

/**
 * Decodes a cursor and checks it belongs to this query and that its key lies where the query reads, so a
 * forged or misplaced cursor is a 400 naming `cursor`: never a 500, a retry-forever 503, or a way into
 * another device's data.
 */
export function decodeCursorKey(
  cursor: string | undefined,
  rule: CursorRule,
): Record<string, string> | undefined {
  if (!cursor) return undefined;
  const refused = new InvalidInputError(
    "malformed",
    "cursor",
    "cursor is not one this API returned for this query",
  );
  let parsed: { q?: unknown; k?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    throw refused;
  }
  if (!parsed || parsed.q !== queryTag(rule.query)) throw refused;
  const key = stringKey(parsed.k, rule.keyAttributes);
  if (!key || !rule.accept(key)) throw refused;
  return key;
}

/** The key's string values if it has exactly these attributes, each exactly one non-empty, well-formed string. */
function stringKey(key: unknown, attributes: readonly string[]): Record<string, string> | undefined {
  if (!key || typeof key !== "object" || Array.isArray(key)) return undefined;
  const entries = Object.entries(key as Record<string, unknown>);
  if (
    entries
      .map(([name]) => name)
      .sort()
      .join() !== [...attributes].sort().join()
  )
    return undefined;
  const values: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!value || typeof value !== "object" || Object.keys(value).join() !== "S") return undefined;
    const text = (value as { S: unknown }).S;
    if (typeof text !== "string" || text.length === 0 || text.length > 1024) return undefined;
    // A lone surrogate cannot be sent as UTF-8; DynamoDB would refuse the start key (or read another).
    if (!isWellFormedText(text)) return undefined;
    values[name] = text;
  }
  return values;
}

export const between = (value: string | undefined, low: string, high: string) =>
  value !== undefined && value >= low && value <= high;
