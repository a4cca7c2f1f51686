import { describe, expect, it } from "vitest";
import { DEFAULT_GAP_CONFIG } from "../../functions/core/gaps/config.ts";
import type { GapStore } from "../../functions/core/gaps/ports.ts";
import { runGapTracker } from "../../functions/core/gaps/run.ts";
import type { DeviceReport, GapTracker } from "../../functions/core/gaps/types.ts";

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
