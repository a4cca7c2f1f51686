import { TransientError } from "../core/errors.ts";
import { RecordRefusedError } from "../core/refusal.ts";
import { isStorableNumber, STORABLE_NUMBER_MESSAGE } from "../core/schemas/storable.ts";

/** Errors an AWS service raises for one bad item, not for an outage; retrying the same item cannot help. */
const PER_ITEM_ERRORS = new Set(["ValidationException", "InvalidParameterValue", "InvalidMessageContents"]);

/** DynamoDB (or `checkStorable` before it) refused this item for what it holds. */
export class StoreRejectedError extends RecordRefusedError {
  override readonly name = "StoreRejectedError";
}

/**
 * Refuses an item built from input that holds a number neither the SDK nor DynamoDB stores (too large,
 * `Infinity`, 39 digits). Checked before the write: that is about this item, never an outage, so it must
 * not become a 503 that EMQX retries for ten minutes, which is what the SDK's own refusal inside `send`
 * would be.
 */
export function checkStorable(item: Record<string, unknown>, what: string): void {
  const path = unstorableNumberAt(item, []);
  if (path)
    throw new StoreRejectedError(`${what} cannot be stored: ${path.join(".")}: ${STORABLE_NUMBER_MESSAGE}`);
}

/** The path to the first number in `value` that cannot be stored, or `undefined`. */
function unstorableNumberAt(
  value: unknown,
  path: Array<string | number>,
): Array<string | number> | undefined {
  if (typeof value === "number") return isStorableNumber(value) ? undefined : path;
  if (value === null || typeof value !== "object") return undefined;
  const entries = value instanceof Set || Array.isArray(value) ? [...value].entries() : Object.entries(value);
  for (const [key, item] of entries) {
    const found = unstorableNumberAt(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/**
 * Turns an SDK failure into the domain's terms: a rejection of this item, or a transient outage
 * (throttling, 5xx, network, timeouts) that the caller answers with 503.
 */
export function toDomainError(operation: string, error: unknown): Error {
  const name = (error as { name?: string })?.name ?? "Error";
  const message = (error as { message?: string })?.message ?? String(error);
  if (PER_ITEM_ERRORS.has(name)) return new StoreRejectedError(`${operation} refused the item: ${message}`);
  return new TransientError(`${operation} failed: ${name}: ${message}`, { cause: error });
}

/** One SDK call, its failure told in the domain's terms (`toDomainError`) under `operation`'s name. */
export async function send<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toDomainError(operation, error);
  }
}
