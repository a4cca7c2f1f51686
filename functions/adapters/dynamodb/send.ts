import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { toDomainError } from "../aws-errors.ts";

/** A conditional write's outcome: its output, or the stored item that failed the condition (if asked for). */
export type Conditional<T> =
  | { passed: true; output: T }
  | { passed: false; stored: Record<string, unknown> | undefined };

/**
 * A conditional write whose condition may fail when there is nothing to do (gone already, or moved on, or
 * there already): that is an answer, not an error; any other failure a domain error. The stored item comes
 * with the failure when the write asked `ReturnValuesOnConditionCheckFailure: "ALL_OLD"`; the
 * DocumentClient leaves an error's item marshalled, hence the one `unmarshall` here.
 */
export async function conditional<T>(operation: string, call: () => Promise<T>): Promise<Conditional<T>> {
  try {
    return { passed: true, output: await call() };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw toDomainError(operation, error);
    return { passed: false, stored: error.Item ? unmarshall(error.Item) : undefined };
  }
}

/** A conditional write ({@link conditional}) that answers only whether it was written. */
export async function sendConditional(operation: string, call: () => Promise<unknown>): Promise<boolean> {
  return (await conditional(operation, call)).passed;
}
