/**
 * A failure that affects every message, not one: a store or queue that is down, throttled or too slow.
 * The ingest answers 503 so EMQX keeps the message and retries it.
 */
export class TransientError extends Error {
  override readonly name: string = "TransientError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * What is wrong with one input, in the domain's words; the HTTP edge decides the answer for each
 * (functions/http/problems.ts).
 * - `malformed`: the request itself cannot be used: its body is not JSON (or not the envelope it must be),
 *   or a value of its path, query or cursor is wrong.
 * - `invalid`: the request was read, but a field of its content breaks a rule.
 * - `too_large`: the body is over the limit.
 * - `unsupported_media_type`: the body is not sent as the type the route reads.
 */
export type InputErrorKind = "malformed" | "invalid" | "too_large" | "unsupported_media_type";

/** One message is wrong. It is quarantined and answered with a 4xx naming the field. */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  constructor(
    readonly kind: InputErrorKind,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The handler ran out of its own time budget; answered 503 so the sender retries. */
export class DeadlineExceededError extends TransientError {
  override readonly name: string = "DeadlineExceededError";
  constructor(ms: number) {
    super(`request did not finish within the ${ms} ms internal deadline`);
  }
}
