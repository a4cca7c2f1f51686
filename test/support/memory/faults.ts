import { TransientError } from "../../../functions/core/errors.ts";

/** A port's method names. */
type MethodOf<T> = { [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T] &
  string;

/**
 * Wraps an in-memory port so a test can make its next calls fail (an outage: `TransientError` by default,
 * the call never takes effect) or fail after taking effect (a lost answer), and see the calls it received.
 *
 * @example
 * const commands = withFaults(new MemoryCommandStore());
 * commands.failNext("readBatch");              // the next readBatch throws a TransientError
 * commands.port                                 // what the use case gets; `commands.target`: the store
 */
export function withFaults<T extends object>(target: T) {
  const planned = new Map<string, Array<{ error: unknown; afterEffect: boolean }>>();
  const calls: string[] = [];
  const port = new Proxy(target, {
    get(object, name, receiver) {
      const value = Reflect.get(object, name, receiver);
      if (typeof value !== "function" || typeof name !== "string") return value;
      return async (...args: unknown[]) => {
        calls.push(name);
        const fault = planned.get(name)?.shift();
        if (fault && !fault.afterEffect) throw fault.error;
        const result = await value.apply(object, args);
        if (fault) throw fault.error;
        return result;
      };
    },
  });
  return {
    port,
    /** The port itself, unwrapped: for the test's own reads and for calls no fault may touch. */
    target,
    /** Every call made, by method name, in order. */
    calls,
    count: (method: MethodOf<T>) => calls.filter((call) => call === method).length,
    /** The next `times` calls of `method` fail without effect. */
    failNext(method: MethodOf<T>, times = 1, error: unknown = outage(method)) {
      plan(planned, method, times, { error, afterEffect: false });
    },
    /** The next `times` calls of `method` take effect, then fail (the answer was lost). */
    failAfterEffect(method: MethodOf<T>, times = 1, error: unknown = outage(method)) {
      plan(planned, method, times, { error, afterEffect: true });
    },
  };
}

function plan(
  planned: Map<string, Array<{ error: unknown; afterEffect: boolean }>>,
  method: string,
  times: number,
  fault: { error: unknown; afterEffect: boolean },
) {
  const list = planned.get(method) ?? [];
  for (let i = 0; i < times; i++) list.push(fault);
  planned.set(method, list);
}

const outage = (method: string) => new TransientError(`${method} unavailable (injected outage)`);
