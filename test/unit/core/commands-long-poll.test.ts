import { afterEach, describe, expect, it, vi } from "vitest";
import { waitForNextCommand } from "../../../functions/core/commands/next-for-device.ts";
import { commandWorld } from "./command-world.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("a long poll for the next command, on fake timers", () => {
  it("returns a command created during the wait at the next look, long before the wait runs out", async () => {
    vi.useFakeTimers();
    const world = commandWorld();
    const started = performance.now();
    const polled = waitForNextCommand(world.deps, "SN1", { waitMs: 20_000, intervalMs: 1_000 });

    await vi.advanceTimersByTimeAsync(2_500);
    await world.create("SN1", { id: "late", op: "x" });
    await vi.advanceTimersByTimeAsync(1_000);

    expect((await polled)?.id).toBe("late");
    expect(performance.now() - started).toBeLessThanOrEqual(3_500);
  });

  it("gives up when the wait runs out, and stops at once when the client hangs up", async () => {
    vi.useFakeTimers();
    const world = commandWorld();
    const empty = waitForNextCommand(world.deps, "SN1", { waitMs: 5_000, intervalMs: 1_000 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await empty).toBeUndefined();

    const hangUp = new AbortController();
    const abandoned = waitForNextCommand(world.deps, "SN1", {
      waitMs: 20_000,
      intervalMs: 1_000,
      signal: hangUp.signal,
    });
    await vi.advanceTimersByTimeAsync(1_500);
    hangUp.abort();
    expect(await abandoned).toBeUndefined();
    // Created after the hang-up: not taken for nobody.
    await world.create("SN1", { id: "after", op: "x" });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await world.status("SN1", "after")).toBe("queued");
  });
});
