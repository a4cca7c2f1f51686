import * as v from "valibot";

/** A device serial number. It becomes a topic segment and part of keys, so `/`, `+`, `#` can never pass. */
export const SerialNumber = v.pipe(
  v.string("sn must be a string"),
  v.regex(/^[A-Za-z0-9_-]{1,64}$/, "sn must be 1-64 characters of A-Z, a-z, 0-9, _ or -"),
);

/** EMQX renders Erlang `undefined` as the string "undefined"; it means "absent". */
export const EmqxOptionalString = v.optional(
  v.pipe(
    v.string(),
    v.transform((value) => (value === "undefined" ? undefined : value)),
  ),
);

/**
 * Every number in `value` (at any depth) is finite and within ±2^53: larger ones lose digits in JSON
 * and cannot be stored as DynamoDB numbers, so they are refused with the field instead of failing later.
 */
export function hasStorableNumbers(value: unknown, depth = 0): boolean {
  if (typeof value === "number") return Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER;
  if (depth > 32 || value === null || typeof value !== "object") return depth <= 32;
  return Object.values(value as Record<string, unknown>).every((item) => hasStorableNumbers(item, depth + 1));
}

export const STORABLE_NUMBERS_MESSAGE =
  "numbers must be finite and at most 9007199254740991 in size (send larger ones as strings)";
