import { describe, expect, it } from "vitest";
import { DEFAULT_GAP_CONFIG } from "../../functions/core/gaps/config.ts";
import { decideDrift } from "../../functions/core/gaps/drift.ts";
import { emptyTracker, reconcile } from "../../functions/core/gaps/reconcile.ts";
import type {
  DeviceReport,
  DriftState,
  GapConfig,
  GapTracker,
  SeenPunch,
} from "../../functions/core/gaps/types.ts";

const T0 = Date.parse("2026-12-01T08:00:00.000Z");
const MIN = 60_000;
const config = DEFAULT_GAP_CONFIG;

interface TerminalOptions {
  skewMs: number;
  /** Sends `device_time` in its heartbeats. */
  reportsClock?: boolean;
  /** Applies `set_time` this long after the pass sent it (the command's way to the device). */
  applyAfterMs?: number;
  /** Ignores `set_time` (a firmware without it). */
  ignoresSetTime?: boolean;
  /** A heartbeat reaches the tracker this long after EMQX received it (it waits on the reports queue). */
  reportLagMs?: number;
  /** Minutes between heartbeats (1): with more than a pass's 5, some passes see punches only. */
  heartbeatEvery?: number;
}

/**
 * A terminal that punches and heartbeats every minute, and a tracker pass every 5 minutes over everything
 * stored (each pass reads the old punches again, as the read window's slack makes it do). Times are
 * explicit: no timers.
 */
function terminal(options: TerminalOptions) {
  let skewMs = options.skewMs;
  let tracker: GapTracker = emptyTracker("SN1", new Date(T0).toISOString());
  const stored: SeenPunch[] = [];
  const queued: DeviceReport[] = [];
  const pendingSetTime: Array<{ applyAt: number; time: number }> = [];
  const seen = { clockDrift: 0, setTime: 0, episodes: [] as number[] };
  let t = T0;
  let seq = 0;

  const punchAt = (at: number, receivedAt = at, stamp = at + skewMs): SeenPunch => ({
    eventId: `p${++seq}`,
    attTimeNormalized: new Date(stamp).toISOString(),
    receivedAt: new Date(receivedAt).toISOString(),
    seq,
    epoch: "0",
    userId: "u1",
    attState: 0,
  });

  function pass() {
    const lag = options.reportLagMs ?? 0;
    const reports = queued.filter((r) => r.receivedAt + lag <= t);
    queued.splice(0, queued.length, ...queued.filter((r) => r.receivedAt + lag > t));
    const result = reconcile(tracker, { punches: stored, reports, nowMs: t }, config);
    for (const event of result.events.filter((e) => e.type === "clock_drift")) {
      seen.clockDrift++;
      seen.episodes.push(event.data.episode as number);
    }
    for (const command of result.commands.filter((c) => c.op === "set_time")) {
      seen.setTime++;
      const time = Date.parse(String(command.data?.time));
      if (!options.ignoresSetTime)
        pendingSetTime.push({ applyAt: t + (options.applyAfterMs ?? 30_000), time });
    }
    if (result.persist) tracker = { ...result.tracker, version: tracker.version + 1 };
  }

  function minute() {
    for (const set of pendingSetTime.filter((s) => s.applyAt <= t)) skewMs = set.time - set.applyAt;
    pendingSetTime.splice(0, pendingSetTime.length, ...pendingSetTime.filter((s) => s.applyAt > t));
    stored.push(punchAt(t));
    if ((t - T0) % ((options.heartbeatEvery ?? 1) * MIN) === 0)
      queued.push({
        sn: "SN1",
        receivedAt: t,
        lastSeq: seq,
        ...(options.reportsClock === false ? {} : { deviceTime: t + skewMs }),
      });
    if ((t - T0) % (5 * MIN) === 0) pass();
    t += MIN;
  }

  return {
    seen,
    run(minutes: number) {
      for (let i = 0; i < minutes; i++) minute();
    },
    /** The clock drifts off again by `ms` (a flat battery, a manual change). */
    drift(ms: number) {
      skewMs += ms;
    },
    /** A backfill brings an old punch now, with the time the old clock stamped on it. */
    backfill(stampedAt: number) {
      stored.push(punchAt(t, t, stampedAt));
    },
    get skewMs() {
      return skewMs;
    },
    get tracker() {
      return tracker;
    },
  };
}

describe("clock drift", () => {
  it("sets a clock 10 minutes ahead once: heartbeats sent before the correction and punches read again do not start it over", () => {
    const device = terminal({
      skewMs: 10 * MIN,
      heartbeatEvery: 7,
      reportLagMs: 2 * MIN,
      applyAfterMs: 90_000,
    });
    device.run(24 * 60);
    expect(device.seen).toEqual({ clockDrift: 1, setTime: 1, episodes: [1] });
    expect(Math.abs(device.skewMs)).toBeLessThan(2 * MIN);
    expect(device.tracker.drift).toMatchObject({ flagged: false, episode: 1 });
  });

  it("sets a clock 10 minutes behind once", () => {
    const device = terminal({ skewMs: -10 * MIN });
    device.run(24 * 60);
    expect(device.seen).toEqual({ clockDrift: 1, setTime: 1, episodes: [1] });
  });

  it("does not start again when a backfill brings punches stamped by the old clock", () => {
    const device = terminal({ skewMs: 10 * MIN });
    device.run(60);
    device.backfill(T0 + 3 * MIN + 10 * MIN);
    device.run(60);
    expect(device.seen.clockDrift).toBe(1);
  });

  it("announces a real drift after a correction as a new episode, and sets the clock again", () => {
    const device = terminal({ skewMs: 10 * MIN });
    device.run(3 * 60);
    device.drift(-5 * MIN);
    device.run(3 * 60);
    expect(device.seen).toEqual({ clockDrift: 2, setTime: 2, episodes: [1, 2] });
  });

  it("keeps one episode for a device that ignores set_time: at most 3 set_time, 30 minutes apart", () => {
    const device = terminal({ skewMs: 10 * MIN, ignoresSetTime: true });
    device.run(24 * 60);
    expect(device.seen).toEqual({ clockDrift: 1, setTime: config.maxSetTime, episodes: [1] });
  });

  describe("a device that does not report its clock (punches only)", () => {
    it("is set once from its punches; the punches stamped before the correction, read again, do not count", () => {
      const device = terminal({ skewMs: 10 * MIN, reportsClock: false });
      device.run(60);
      device.backfill(T0 + 2 * MIN + 10 * MIN);
      device.run(23 * 60);
      expect(device.seen).toEqual({ clockDrift: 1, setTime: 1, episodes: [1] });
      expect(device.tracker.drift).toMatchObject({ flagged: false });
    });

    it("is announced again when its punches run ahead again after the correction", () => {
      const device = terminal({ skewMs: 10 * MIN, reportsClock: false });
      device.run(3 * 60);
      device.drift(15 * MIN);
      device.run(3 * 60);
      expect(device.seen).toEqual({ clockDrift: 2, setTime: 2, episodes: [1, 2] });
    });
  });
});

describe("decideDrift", () => {
  const settings: GapConfig = { ...config, setTime: false };
  const sample = (offsetMs: number) => ({ offsetMs, source: "status" as const });

  it("treats an offset wobbling around the threshold as one episode", () => {
    let drift: DriftState | undefined;
    let announced = 0;
    for (const [i, offset] of [130_000, 110_000, 125_000, 100_000, 135_000].entries()) {
      const decision = decideDrift(drift, sample(offset), T0 + i * 5 * MIN, settings);
      drift = decision.drift;
      if (decision.announce) announced++;
    }
    expect(announced).toBe(1);
    expect(drift).toMatchObject({ flagged: true, episode: 1 });
  });

  it("ends the episode once the offset is back under half the threshold", () => {
    const first = decideDrift(undefined, sample(130_000), T0, settings).drift;
    const back = decideDrift(first, sample(20_000), T0 + 5 * MIN, settings).drift;
    const again = decideDrift(back, sample(130_000), T0 + 10 * MIN, settings);
    expect(back?.flagged).toBe(false);
    expect(again).toMatchObject({ announce: true, drift: { episode: 2 } });
  });
});
