import { describe, expect, it } from "vitest";
import { DEFAULT_GAP_CONFIG } from "../../functions/core/gaps/config.ts";
import type { GapStore } from "../../functions/core/gaps/ports.ts";
import {
  type GapRunDeps,
  noGapRunStats,
  reconcileDevice,
  runGapTracker,
} from "../../functions/core/gaps/run.ts";
import type { DeviceReport, GapTracker, SeenPunch } from "../../functions/core/gaps/types.ts";
import type { CommandRequest } from "../../functions/core/schemas/command.ts";

const NOW = Date.parse("2026-12-01T08:00:00.000Z");

function memoryGaps(failFor: string): GapStore & { saved: GapTracker[] } {
  const saved: GapTracker[] = [];
  return {
    saved,
    async get(sn) {
      if (sn === failFor) throw new Error("DynamoDB throttled");
      return undefined;
    },
    async save(tracker) {
      saved.push(tracker);
      return true;
    },
    async listUnresolved() {
      return { items: [] };
    },
  };
}

describe("a gap tracker pass", () => {
  it("goes on past a device whose reconcile fails and keeps only that device's reports for the next pass", async () => {
    const reports: DeviceReport[] = [
      { sn: "SN-OK", receivedAt: NOW, lastSeq: 3, epoch: "0", deviceTime: NOW },
      { sn: "SN-BAD", receivedAt: NOW, lastSeq: 7, epoch: "0", deviceTime: NOW },
    ];
    let kept: ReadonlySet<string> | undefined;
    const gaps = memoryGaps("SN-BAD");
    const read: string[] = [];
    const stats = await runGapTracker({
      gaps,
      punches: {
        read: async (sn) => {
          read.push(sn);
          return [];
        },
        flagSuspect: async () => undefined,
      },
      devices: { async *listDevices() {} },
      reports: {
        take: async () => ({
          reports,
          done: async (keep) => {
            kept = keep;
          },
        }),
      },
      events: { send: async () => undefined },
      sendCommand: async () => undefined,
      clock: { now: () => new Date(NOW) },
      config: DEFAULT_GAP_CONFIG,
    });
    expect(stats.failed).toBe(1);
    expect([...(kept ?? [])]).toEqual(["SN-BAD"]);
    expect(read).toEqual(["SN-OK"]);
  });
});

/** One device whose punch 3 never came, a tracker store that keeps what it is given, and a clock. */
function lossyDevice() {
  let stored: GapTracker | undefined;
  let now = NOW;
  const sent: CommandRequest[] = [];
  const pending = new Set<string>();
  const punch = (seq: number): SeenPunch => ({
    eventId: `p${seq}`,
    attTimeNormalized: new Date(NOW - 60_000 + seq * 1000).toISOString(),
    receivedAt: new Date(NOW - 60_000 + seq * 1000).toISOString(),
    seq,
    epoch: "0",
    userId: "u1",
    attState: 0,
  });
  const deps: GapRunDeps = {
    gaps: {
      get: async () => stored,
      save: async (tracker) => {
        stored = { ...tracker, version: tracker.version + 1 };
        return true;
      },
      listUnresolved: async () => ({ items: [] }),
    },
    punches: { read: async () => [1, 2, 4, 5].map(punch), flagSuspect: async () => undefined },
    devices: { async *listDevices() {} },
    events: { send: async () => undefined },
    sendCommand: async (_sn, request) => {
      sent.push(request);
      pending.add(request.id ?? "");
    },
    commandPending: async (_sn, id) => pending.has(id),
    clock: { now: () => new Date(now) },
    config: { ...DEFAULT_GAP_CONFIG, graceMs: 5_000, backoffMs: 10_000, maxBackoffMs: 40_000 },
  };
  return {
    sent,
    /** The device answers every command it has. */
    answer: () => pending.clear(),
    pass: async (atMs: number) => {
      now = atMs;
      await reconcileDevice(deps, "SN1", [], noGapRunStats());
    },
  };
}

describe("a resend that is not answered yet", () => {
  it("holds the next attempt until the device answers: no second command queued behind the first", async () => {
    const device = lossyDevice();
    await device.pass(NOW);
    await device.pass(NOW + 15_000);
    await device.pass(NOW + 30_000);
    expect(device.sent.map((c) => c.op)).toEqual(["resend"]);
    device.answer();
    await device.pass(NOW + 35_000);
    expect(device.sent.map((c) => [c.op, c.data?.ranges])).toEqual([
      ["resend", [[3, 3]]],
      ["resend", [[3, 3]]],
    ]);
  });

  it("asks again once the unanswered resend has held the longest backoff (its answer may be lost)", async () => {
    const device = lossyDevice();
    await device.pass(NOW);
    await device.pass(NOW + 39_000);
    expect(device.sent).toHaveLength(1);
    await device.pass(NOW + 41_000);
    expect(device.sent).toHaveLength(2);
  });
});
