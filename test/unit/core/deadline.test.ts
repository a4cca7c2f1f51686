import { afterEach, describe, expect, it, vi } from "vitest";
import { onDeadlinePassed, withCurrentSignal, withDeadline } from "../../../functions/core/deadline.ts";
import { DeadlineExceededError } from "../../../functions/core/errors.ts";

/** A call that settles only when told to, and records whether its deadline cancelled it. */
function pendingCall() {
  let settle: (value: string) => void = () => undefined;
  const call = { cancelled: false, released: false, settle: (value: string) => settle(value) };
  const run = () =>
    new Promise<string>((resolve) => {
      const release = onDeadlinePassed(() => {
        call.cancelled = true;
      });
      settle = (value) => {
        release();
        call.released = true;
        resolve(value);
      };
    });
  return { call, run };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("withDeadline", () => {
  it("cancels the calls still in flight when the deadline passes", async () => {
    vi.useFakeTimers();
    const { call, run } = pendingCall();
    const outcome = withDeadline(run, 1_000);
    const settled = expect(outcome).rejects.toBeInstanceOf(DeadlineExceededError);
    await vi.advanceTimersByTimeAsync(1_000);
    await settled;
    expect(call.cancelled).toBe(true);
  });

  it("leaves a call alone once it has settled, and cancels nothing when the work is in time", async () => {
    vi.useFakeTimers();
    const { call, run } = pendingCall();
    const outcome = withDeadline(async () => {
      const answer = run();
      call.settle("ok");
      return answer;
    }, 1_000);
    await expect(outcome).resolves.toBe("ok");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(call).toMatchObject({ cancelled: false, released: true });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("cancels the calls of a nested deadline when the outer one passes first", async () => {
    vi.useFakeTimers();
    const { call, run } = pendingCall();
    const outcome = withDeadline(() => withDeadline(run, 10_000), 1_000);
    const settled = expect(outcome).rejects.toBeInstanceOf(DeadlineExceededError);
    await vi.advanceTimersByTimeAsync(1_000);
    await settled;
    expect(call.cancelled).toBe(true);
  });

  it("cancels a call made after its deadline passed at once", async () => {
    vi.useFakeTimers();
    let late: { cancelled: boolean } | undefined;
    const outcome = withDeadline(async () => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      late = { cancelled: false };
      const entry = late;
      onDeadlinePassed(() => {
        entry.cancelled = true;
      });
    }, 1_000);
    const settled = expect(outcome).rejects.toBeInstanceOf(DeadlineExceededError);
    await vi.advanceTimersByTimeAsync(2_000);
    await settled;
    expect(late).toEqual({ cancelled: true });
  });

  it("aborts the signal a fetch is given when the deadline passes, with the deadline as reason", async () => {
    vi.useFakeTimers();
    let signal: AbortSignal | undefined;
    const outcome = withDeadline(async () => {
      signal = withCurrentSignal(new AbortController().signal);
      await new Promise(() => undefined);
    }, 1_000);
    const settled = expect(outcome).rejects.toBeInstanceOf(DeadlineExceededError);
    await vi.advanceTimersByTimeAsync(1_000);
    await settled;
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(DeadlineExceededError);
  });

  it("outside any deadline registers nothing and hands the signal back as it is", () => {
    const signal = new AbortController().signal;
    expect(withCurrentSignal(signal)).toBe(signal);
    expect(() => onDeadlinePassed(() => undefined)()).not.toThrow();
  });
});
