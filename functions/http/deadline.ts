import type { Context, MiddlewareHandler } from "hono";
import type { LambdaContext } from "hono/aws-lambda";
import { withDeadline } from "../core/deadline.ts";

/** Hono's bindings on Lambda: the invocation's context (`hono/aws-lambda` passes it), absent elsewhere. */
export type LambdaBindings = { lambdaContext?: LambdaContext };

/** Time kept back from Lambda's remaining time to write the answer. */
export const ANSWER_MARGIN_MS = 1_000;

/**
 * What this invocation has left for its work: Lambda's remaining time less {@link ANSWER_MARGIN_MS}, so
 * the answer goes out before Lambda's own timeout (a 502 EMQX would drop); unbounded off Lambda.
 */
export function timeLeft<E extends { Bindings: LambdaBindings }>(c: Context<E>): number {
  const remaining = c.env?.lambdaContext?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY;
  return remaining - ANSWER_MARGIN_MS;
}

/** The budget of one request's work: `deadlineMs`, or less when the invocation has less left. */
export function budgetMs<E extends { Bindings: LambdaBindings }>(c: Context<E>, deadlineMs: number): number {
  return Math.min(deadlineMs, timeLeft(c));
}

/** Every route's work within its budget; past it, a `DeadlineExceededError` for `onError` (503). */
export function deadline(deadlineMs: number): MiddlewareHandler<{ Bindings: LambdaBindings }> {
  return async (c, next) => {
    await withDeadline(() => next(), budgetMs(c, deadlineMs));
  };
}
