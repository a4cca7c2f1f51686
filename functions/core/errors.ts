/**
 * A failure that affects every message, not one: a store or queue that is down, throttled or too slow.
 * The ingest answers 503 so EMQX keeps the message and retries it.
 */
export class TransientError extends Error {
  override readonly name = "TransientError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One message is wrong. It is quarantined and answered with a 4xx naming the field. */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  constructor(
    readonly status: 400 | 413 | 415 | 422,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The handler ran out of its own time budget; answered 503 so the sender retries. */
export class DeadlineExceededError extends TransientError {
  constructor(ms: number) {
    super(`request did not finish within the ${ms} ms internal deadline`);
  }
}
