import { TransientError } from "../core/errors.ts";

/** Errors an AWS service raises for one bad item, not for an outage; retrying the same item cannot help. */
const PER_ITEM_ERRORS = new Set(["ValidationException", "InvalidParameterValue", "InvalidMessageContents"]);

export class StoreRejectedError extends Error {
  override readonly name = "StoreRejectedError";
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
