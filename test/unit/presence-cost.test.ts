import { describe, expect, it } from "vitest";
import type { PresenceSignal } from "../../functions/core/presence.ts";
import { recordPresence } from "../../functions/core/record-presence.ts";
import { MemoryEventQueue, MemoryPresenceStore } from "../support/memory/index.ts";

const SN = "SN-COST";

/** Records signals one after the other and returns, per signal, the store and queue calls it made. */
async function costs(signals: PresenceSignal[]) {
  const store = new MemoryPresenceStore();
  const events = new MemoryEventQueue();
  const perSignal = [];
  for (const signal of signals) {
    const before = { ...store.counts, ...events.counts };
    await recordPresence({ presence: store, events }, SN, signal);
    perSignal.push({
      reads: store.counts.reads - before.reads,
      writes: store.counts.writes - before.writes,
      sends: events.counts.sends - before.sends,
    });
  }
  return { perSignal, sent: events.sent };
}

describe("what recording presence costs", () => {
  it("is one read, one write and one send per change, and no send for an st online right after its connect", async () => {
    const { perSignal, sent } = await costs([
      { kind: "connected", connectedAt: 1_000 },
      { kind: "status", online: true, at: 1_040 },
      { kind: "disconnected", connectedAt: 1_000, disconnectedAt: 90_000, reason: "normal" },
    ]);
    expect(perSignal).toEqual([
      { reads: 1, writes: 1, sends: 1 },
      { reads: 1, writes: 1, sends: 0 },
      { reads: 1, writes: 1, sends: 1 },
    ]);
    expect(sent.map((m) => [m.data.online, m.data.version])).toEqual([
      [true, 1],
      [false, 3],
    ]);
  });

  it("is one read and nothing else for a signal already merged that did not cause the last announcement", async () => {
    const st: PresenceSignal = { kind: "status", online: true, at: 1_040 };
    const { perSignal } = await costs([{ kind: "connected", connectedAt: 1_000 }, st, st]);
    expect(perSignal[2]).toEqual({ reads: 1, writes: 0, sends: 0 });
  });

  it("sends the same message again (same eventId) when the signal that caused it is retried", async () => {
    const connect: PresenceSignal = { kind: "connected", connectedAt: 1_000 };
    const { perSignal, sent } = await costs([connect, connect]);
    expect(perSignal[1]).toEqual({ reads: 1, writes: 0, sends: 1 });
    expect(sent[1]).toEqual(sent[0]);
  });

  it("announces a correction with a new eventId and a higher version (a will processed before its takeover)", async () => {
    const { sent } = await costs([
      { kind: "connected", connectedAt: 1_000 },
      { kind: "status", online: false, at: 50_200 },
      { kind: "disconnected", connectedAt: 1_000, disconnectedAt: 50_000, reason: "takenover" },
    ]);
    expect(sent.map((m) => [m.data.online, m.data.reason, m.data.version])).toEqual([
      [true, "connected", 1],
      [false, "will", 2],
      [true, "connected", 3],
    ]);
    expect(new Set(sent.map((m) => m.eventId)).size).toBe(3);
  });
});
