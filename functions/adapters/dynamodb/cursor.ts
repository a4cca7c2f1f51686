import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { InvalidInputError } from "../../core/errors.ts";

/** DynamoDB's LastEvaluatedKey as an opaque cursor. */
export function encodeCursor(key: Record<string, AttributeValue> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString("base64url") : undefined;
}

/**
 * Decodes a cursor and checks it belongs to the partition being read, so a forged cursor is a 400,
 * never a 500 nor a way into another device's data.
 */
export function decodeCursor(
  cursor: string | undefined,
  partition: { attribute: string; value?: string; prefix?: string; keyAttributes: readonly string[] },
): Record<string, AttributeValue> | undefined {
  if (!cursor) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    throw new InvalidInputError(400, "cursor", "cursor is not one this API returned");
  }
  const valid =
    !!key &&
    typeof key === "object" &&
    Object.keys(key).sort().join() === [...partition.keyAttributes].sort().join() &&
    Object.values(key).every(
      (v) => v && typeof v === "object" && typeof (v as { S?: unknown }).S === "string",
    ) &&
    matches((key as Record<string, { S: string }>)[partition.attribute]?.S, partition);
  if (!valid)
    throw new InvalidInputError(400, "cursor", "cursor is not one this API returned for this query");
  return key as Record<string, AttributeValue>;
}

function matches(value: string | undefined, expected: { value?: string; prefix?: string }): boolean {
  if (value === undefined) return false;
  if (expected.value !== undefined) return value === expected.value;
  return expected.prefix === undefined || value.startsWith(expected.prefix);
}
