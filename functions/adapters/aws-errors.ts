import { marshall } from "@aws-sdk/util-dynamodb";
import { TransientError } from "../core/errors.ts";
import { RecordRefusedError } from "../core/refusal.ts";

/** Errors an AWS service raises for one bad item, not for an outage; retrying the same item cannot help. */
const PER_ITEM_ERRORS = new Set(["ValidationException", "InvalidParameterValue", "InvalidMessageContents"]);

/** DynamoDB (or the SDK's `marshall`) refused this item for what it holds. */
export class StoreRejectedError extends RecordRefusedError {
  override readonly name = "StoreRejectedError";
}

/**
 * `marshall` for an item built from input: its failures (a number too large, `Infinity`) are about this
 * item, never an outage, so they must not become a 503 that EMQX retries for ten minutes.
 */
export function marshallItem(item: Record<string, unknown>, what: string) {
  try {
    return marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true });
  } catch (error) {
    throw new StoreRejectedError(`${what} cannot be stored: ${(error as Error).message}`);
  }
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
