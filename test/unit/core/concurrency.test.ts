import { describe, expect, it } from "vitest";
import { mapWithConcurrency } from "../../../functions/core/concurrency.ts";

/** A promise settled from outside. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("mapWithConcurrency", () => {
  it("keeps the order of results with at most `limit` calls in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++inFlight);
      await Promise.resolve();
      inFlight--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it("maps a single item (a live punch) with its index, and throws its error as is", async () => {
    expect(await mapWithConcurrency(["only"], 16, async (item, index) => `${item}:${index}`)).toEqual([
      "only:0",
    ]);
    const failure = new Error("refused");
    await expect(
      mapWithConcurrency(["only"], 16, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await mapWithConcurrency([], 16, async () => 1)).toEqual([]);
  });

  it("starts nothing after a failure and throws only once the calls in flight have ended", async () => {
    const calls = Array.from({ length: 6 }, () => deferred<number>());
    const started: number[] = [];
    const ended: number[] = [];
    const run = mapWithConcurrency([0, 1, 2, 3, 4, 5], 3, async (i) => {
      started.push(i);
      try {
        return await (calls[i] as ReturnType<typeof deferred<number>>).promise;
      } finally {
        ended.push(i);
      }
    });
    let settled = false;
    run.catch(() => undefined).finally(() => (settled = true));
    calls[0]?.reject(new Error("throttled"));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false);
    calls[1]?.resolve(1);
    calls[2]?.resolve(2);
    await expect(run).rejects.toThrow("throttled");
    expect(started).toEqual([0, 1, 2]);
    expect(ended.sort()).toEqual([0, 1, 2]);
  });
});
