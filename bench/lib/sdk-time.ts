import type { AbsoluteLocation, InitializeHandlerOptions, InitializeMiddleware } from "@smithy/types";

type InitializeStack = {
  add(
    middleware: InitializeMiddleware<object, object>,
    options: InitializeHandlerOptions & AbsoluteLocation,
  ): void;
};

/** Where one call's wall time went: before its first SDK request, between requests, inside them, after the last. */
export interface TimeSplit {
  before: number;
  inside: number;
  between: number;
  after: number;
}

/**
 * Times each call's SDK requests (outermost in the clients' stacks, so serialization, signing, the round
 * trip and parsing count as inside) and what the call does around them: which share of a handler's time
 * is its own code rather than AWS's.
 */
export class SdkTime {
  private inside = 0;
  private first: number | undefined;
  private last = 0;

  attach(client: { middlewareStack: unknown }): void {
    (client.middlewareStack as InitializeStack).add(
      (next) => async (args) => {
        const started = performance.now();
        this.first ??= started;
        try {
          return await next(args);
        } finally {
          this.last = performance.now();
          this.inside += this.last - started;
        }
      },
      { step: "initialize", priority: "high", name: "benchSdkTime" },
    );
  }

  /** `call`, timed, with the split of its wall time (ms) appended to `into`. */
  timed<T>(call: (i: number) => Promise<T>, into: TimeSplit[]): (i: number) => Promise<T> {
    return async (i) => {
      this.inside = 0;
      this.first = undefined;
      const started = performance.now();
      const result = await call(i);
      const ended = performance.now();
      const first = this.first ?? ended;
      const last = this.first === undefined ? ended : this.last;
      into.push({
        before: first - started,
        inside: this.inside,
        between: last - first - this.inside,
        after: ended - last,
      });
      return result;
    };
  }
}
