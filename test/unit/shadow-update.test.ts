import { beforeEach, describe, expect, it } from "vitest";
import { ShadowVersionConflictError } from "../../functions/core/shadow/errors.ts";
import { type ShadowDeps, updateShadow } from "../../functions/core/shadow/update-shadow.ts";
import {
  FakeClock,
  MemoryCommandQueue,
  MemoryCommandStore,
  MemoryEventQueue,
} from "../support/memory/index.ts";
import { MemoryShadowStore } from "../support/memory-shadow.ts";

let deps: ShadowDeps & {
  shadows: MemoryShadowStore;
  commands: MemoryCommandStore;
  queue: MemoryCommandQueue;
  events: MemoryEventQueue;
  clock: FakeClock;
};

beforeEach(() => {
  const clock = new FakeClock();
  deps = {
    shadows: new MemoryShadowStore(),
    commands: new MemoryCommandStore(),
    queue: new MemoryCommandQueue(clock),
    events: new MemoryEventQueue(),
    clock,
  };
});

const desire = (patch: Record<string, unknown>, expectedVersion?: number) =>
  updateShadow(deps, "SN1", {
    section: "desired",
    patch,
    ...(expectedVersion !== undefined ? { expectedVersion } : {}),
  });
const report = (patch: Record<string, unknown>) => updateShadow(deps, "SN1", { section: "reported", patch });
const deltaCommands = () => [...deps.commands.items.values()].filter((c) => c.op === "shadow_delta");
const statusOf = (id: string) => deps.commands.items.get(`SN1/${id}`)?.status;

describe("shadow versions", () => {
  it("grows by one per change and stays put when a change changes nothing", async () => {
    expect((await desire({ fan: true })).shadow.version).toBe(1);
    expect((await report({ fan: true })).shadow.version).toBe(2);
    const again = await report({ fan: true });
    expect(again).toMatchObject({ changed: false, shadow: { version: 2 } });
    expect(deps.events.sent.filter((m) => m.type === "shadow").map((m) => m.data.version)).toEqual([1, 2]);
  });

  it("refuses a change made against a stale version, and takes one made against the current one", async () => {
    await desire({ fan: true });
    await expect(desire({ fan: false }, 0)).rejects.toBeInstanceOf(ShadowVersionConflictError);
    expect((await desire({ fan: false }, 1)).shadow.version).toBe(2);
  });

  it("refuses the second of two writers that read the same version", async () => {
    await desire({ a: 1 });
    const [first, second] = await Promise.allSettled([desire({ a: 2 }, 1), desire({ a: 3 }, 1)]);
    expect([first.status, second.status].sort()).toEqual(["fulfilled", "rejected"]);
    expect(deps.shadows.items.get("SN1")?.version).toBe(2);
  });

  it("fans every change out as type shadow with an eventId of the device and version", async () => {
    await desire({ fan: true });
    const [message] = deps.events.sent.filter((m) => m.type === "shadow");
    expect(message).toMatchObject({ type: "shadow", sn: "SN1", data: { version: 1, delta: { fan: true } } });
    // As if the synced mark was lost: the next change repeats version 1's message, with the same id.
    const stored = deps.shadows.items.get("SN1");
    if (stored) stored.syncedVersion = 0;
    await report({ other: 1 });
    const ids = deps.events.sent.filter((m) => m.data.version === 1).map((m) => m.eventId);
    expect(new Set(ids).size).toBe(1);
  });
});

describe("shadow delta commands", () => {
  it("queues the delta as one command carrying its version", async () => {
    await desire({ fan: true, level: 3 });
    expect(deltaCommands()).toMatchObject([
      { id: "shadow-delta-1", status: "queued", data: { version: 1, state: { fan: true, level: 3 } } },
    ]);
    expect(deps.queue.accepted.map((m) => m.id)).toEqual(["shadow-delta-1"]);
  });

  it("supersedes a delta not yet sent by a newer one, so only the newest reaches the device", async () => {
    await desire({ fan: true });
    await desire({ level: 3 });
    expect(statusOf("shadow-delta-1")).toBe("expired");
    expect(deps.commands.items.get("SN1/shadow-delta-1")?.reason).toContain("superseded");
    expect(
      deltaCommands()
        .filter((c) => c.status === "queued")
        .map((c) => c.data),
    ).toEqual([{ version: 2, state: { fan: true, level: 3 } }]);
  });

  it("sends nothing new when a report leaves the delta as it was, and withdraws it once reported", async () => {
    await desire({ fan: true, level: 3 });
    await report({ other: "x" });
    expect(deltaCommands()).toHaveLength(1);
    await report({ fan: true, level: 3 });
    expect(statusOf("shadow-delta-1")).toBe("expired");
    expect(deltaCommands()).toHaveLength(1);
  });

  it("keeps a delta already published: the device orders deltas by version", async () => {
    await desire({ fan: true });
    await deps.commands.transition("SN1", "shadow-delta-1", "sent", deps.clock.iso());
    await desire({ fan: false });
    expect(statusOf("shadow-delta-1")).toBe("sent");
    expect(statusOf("shadow-delta-2")).toBe("queued");
  });

  it("finishes the fan-out and the delta of a change a failed send cut short, on the next change", async () => {
    deps.events.failNext = 1;
    await expect(desire({ fan: true })).rejects.toThrow();
    expect(deltaCommands()).toHaveLength(0);
    await report({ other: 1 });
    expect(deps.events.sent.filter((m) => m.type === "shadow").map((m) => m.data.version)).toEqual([1, 2]);
    expect(deltaCommands().map((c) => c.id)).toEqual(["shadow-delta-1"]);
  });
});
