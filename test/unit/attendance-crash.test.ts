import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeAttTime } from "../../functions/core/att-time.ts";
import {
  type AttendanceInput,
  type AttendanceOutcome,
  attendanceEventId,
  RESEND_WINDOW_MS,
  recordAttendance,
} from "../../functions/core/attendance.ts";
import type { AttendanceRecord } from "../../functions/core/schemas/attendance.ts";
import {
  FAULT_KINDS,
  FakeClock,
  type Fault,
  FunctionInstance,
  MemoryAttendanceStore,
  MemoryEventQueue,
  ProcessCrash,
} from "../support/memory/index.ts";

const SN = "SN-CRASH";
/** EMQX's retries come within its request_ttl (10 min here); this many ms after the failed attempt. */
const RETRY_DELAYS_MS = [5_000, 10 * 60_000];

const punch = (userId: string, minute = 0): AttendanceRecord => ({
  user_id: userId,
  att_time: `2026-11-22 08:${String(minute).padStart(2, "0")}:00`,
  att_state: 0,
});
const request = (records: AttendanceRecord[]): AttendanceInput => ({ sn: SN, records, transport: "mqtt" });
const idOf = (record: AttendanceRecord) =>
  attendanceEventId(SN, record.user_id, normalizeAttTime(record.att_time) as string, record.att_state);

class World {
  readonly store = new MemoryAttendanceStore();
  readonly queue = new MemoryEventQueue();
  readonly clock = new FakeClock();

  instance(...faults: Fault[]): FunctionInstance {
    return new FunctionInstance(this.store, this.queue, this.clock, ...faults);
  }

  sentIds(): string[] {
    return this.queue.sent.map((message) => message.eventId);
  }
}

/** A 2xx: every punch of the request is stored and on the queue. */
function expectStoredAndSent(world: World, records: AttendanceRecord[]) {
  for (const record of records) {
    expect(world.store.items.has(idOf(record)), "stored").toBe(true);
    expect(world.sentIds(), "on the queue").toContain(idOf(record));
  }
}

/** The end state: each punch stored once, on the queue at least once, seen once by consumers; nothing else. */
function expectDone(world: World, records: AttendanceRecord[]) {
  const ids = [...new Set(records.map(idOf))].sort();
  expect([...world.store.items.keys()].sort()).toEqual(ids);
  expect(
    world.queue
      .consumed()
      .map((m) => m.eventId)
      .sort(),
  ).toEqual(ids);
}

type Attempt = { ok: true; outcome: AttendanceOutcome } | { ok: false; crashed: boolean };

async function attempt(instance: FunctionInstance, input: AttendanceInput): Promise<Attempt> {
  try {
    return { ok: true, outcome: await recordAttendance(instance.deps, input) };
  } catch (error) {
    return { ok: false, crashed: error instanceof ProcessCrash };
  }
}

/** Every single fault, and every fault followed by a second one later in the same run. */
function faultPlans(steps: number): Fault[][] {
  const singles = Array.from({ length: steps + 2 }, (_, at) =>
    FAULT_KINDS.map((kind) => ({ at, kind })),
  ).flat();
  return [
    ...singles.map((fault) => [fault]),
    ...singles.flatMap((first) =>
      singles.filter((second) => second.at > first.at).map((second) => [first, second]),
    ),
  ];
}

interface Scenario {
  name: string;
  records: AttendanceRecord[];
  /** What happened before the request: earlier attempts, other devices' sends. */
  before?: (world: World) => Promise<void>;
}

const scenarios: Scenario[] = [
  { name: "one new punch", records: [punch("1")] },
  {
    name: "a backlog of three, one of them twice",
    records: [punch("1", 1), punch("2", 2), punch("1", 1), punch("3", 3)],
  },
  {
    name: "a backlog with one punch sent earlier by another instance",
    records: [punch("1", 1), punch("2", 2)],
    before: async (world) => {
      await recordAttendance(world.instance().deps, request([punch("1", 1)]));
    },
  },
  {
    name: "a backlog with one punch whose first attempt died between its write and its send",
    records: [punch("1", 1), punch("2", 2)],
    before: async (world) => {
      await attempt(world.instance({ at: 0, kind: "crash-after" }), request([punch("1", 1)]));
    },
  },
];

describe("attendance write path, killed between any two steps", () => {
  for (const scenario of scenarios) {
    it(`${scenario.name}: stored once, on the queue at least once, seen once, whatever step the process dies at`, async () => {
      const dry = new World();
      await scenario.before?.(dry);
      const clean = dry.instance();
      await recordAttendance(clean.deps, request(scenario.records));
      let runs = 0;
      for (const faults of faultPlans(clean.steps.length)) {
        for (const delay of RETRY_DELAYS_MS) {
          for (const sameInstance of [false, true]) {
            const world = new World();
            await scenario.before?.(world);
            const first = world.instance(...faults);
            const result = await attempt(first, request(scenario.records));
            if (result.ok) expectStoredAndSent(world, scenario.records);
            // EMQX retries a failed attempt; a crashed instance is gone, a failed one may take the retry.
            world.clock.advance(delay);
            const retry = sameInstance && !first.dead ? first : world.instance();
            retry.arm();
            const again = await attempt(retry, request(scenario.records));
            expect(again.ok, JSON.stringify({ faults, delay, sameInstance, first: first.steps })).toBe(true);
            expectStoredAndSent(world, scenario.records);
            expectDone(world, scenario.records);
            runs++;
          }
        }
      }
      expect(runs).toBeGreaterThan(100);
    });
  }

  it("ends stored once and seen once after any sequence of failed and crashed attempts within the window", async () => {
    const records = [punch("1", 1), punch("2", 2), punch("1", 1)];
    const fault = fc.record({ at: fc.nat(8), kind: fc.constantFrom(...FAULT_KINDS) });
    const step = fc.record({
      faults: fc.array(fault, { maxLength: 2 }),
      sameInstance: fc.boolean(),
      delayMs: fc.integer({ min: 0, max: 60_000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 6 }), async (attempts) => {
        const world = new World();
        let instance = world.instance();
        for (const planned of [...attempts, { faults: [], sameInstance: true, delayMs: 0 }]) {
          world.clock.advance(planned.delayMs);
          if (!planned.sameInstance) instance = world.instance();
          instance.arm(...planned.faults);
          const result = await attempt(instance, request(records));
          if (result.ok) expectStoredAndSent(world, records);
          else if (instance.dead) instance = world.instance();
        }
        expectDone(world, records);
      }),
      { numRuns: 300 },
    );
  });
});

describe("attendance write path, what each case costs", () => {
  it("a new punch: one write and one send", async () => {
    const world = new World();
    const instance = world.instance();
    expect(await recordAttendance(instance.deps, request([punch("1")]))).toMatchObject({
      stored: [idOf(punch("1"))],
    });
    expect(instance.steps).toEqual(["put", "send"]);
  });

  it("a backlog of twelve new punches: twelve writes and one send, in the device's order", async () => {
    const world = new World();
    const backlog = Array.from({ length: 12 }, (_, i) => punch(String(i), i));
    const instance = world.instance();
    await recordAttendance(instance.deps, request(backlog));
    expect(instance.steps).toEqual([...backlog.map(() => "put"), "send"]);
    expect(world.sentIds()).toEqual(backlog.map(idOf));
  });

  it("a duplicate of a punch this instance sent: the failed write only", async () => {
    const world = new World();
    const instance = world.instance();
    await recordAttendance(instance.deps, request([punch("1")]));
    world.clock.advance(60_000);
    instance.steps.length = 0;
    expect(await recordAttendance(instance.deps, request([punch("1")]))).toMatchObject({
      duplicates: [idOf(punch("1"))],
    });
    expect(instance.steps).toEqual(["put"]);
  });

  it("a recent duplicate on another instance: sent again (consumers see it once); an old one: the failed write only", async () => {
    const world = new World();
    await recordAttendance(world.instance().deps, request([punch("1")]));
    world.clock.advance(60_000);
    const other = world.instance();
    await recordAttendance(other.deps, request([punch("1")]));
    expect(other.steps).toEqual(["put", "send"]);
    expect(world.queue.sent).toHaveLength(2);
    expect(world.queue.consumed()).toHaveLength(1);

    world.clock.advance(RESEND_WINDOW_MS);
    const late = world.instance();
    await recordAttendance(late.deps, request([punch("1")]));
    expect(late.steps).toEqual(["put"]);
  });
});

describe("attendance write path, edge cases", () => {
  it("a failed send removes this call's writes again, so the retry finds the punches new", async () => {
    const world = new World();
    const instance = world.instance({ at: 2, kind: "fail" });
    expect(await attempt(instance, request([punch("1", 1), punch("2", 2)]))).toEqual({
      ok: false,
      crashed: false,
    });
    expect(instance.steps).toEqual(["put", "put", "send", "discard", "discard"]);
    expect(world.store.items.size).toBe(0);
    instance.arm();
    const retry = await recordAttendance(instance.deps, request([punch("1", 1), punch("2", 2)]));
    expect(retry.stored).toHaveLength(2);
  });

  it("a duplicate that arrives while the first attempt is between its write and its send answers only once it is sent", async () => {
    const world = new World();
    let releaseFirst: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const first = world.instance();
    const send = first.deps.events.send;
    first.deps.events.send = async (messages, options) => {
      await held;
      return send(messages, options);
    };
    const firstDone = recordAttendance(first.deps, request([punch("1")]));
    await Promise.resolve();
    expect(world.store.items.size).toBe(1);
    const duplicate = await recordAttendance(world.instance().deps, request([punch("1")]));
    expect(duplicate.duplicates).toHaveLength(1);
    expectStoredAndSent(world, [punch("1")]);
    releaseFirst();
    expect((await firstDone).stored).toHaveLength(1);
    expectDone(world, [punch("1")]);
  });

  it("the SDK's retry of a put whose first attempt landed counts as this call's own write", async () => {
    const world = new World();
    const instance = world.instance();
    const put = instance.deps.attendance.putIfAbsent;
    // The first attempt lands but its answer is lost; the SDK's second attempt finds the item.
    instance.deps.attendance.putIfAbsent = async (record) => {
      await put(record);
      return put(record);
    };
    const outcome = await recordAttendance(instance.deps, request([punch("1")]));
    expect(outcome).toMatchObject({ stored: [idOf(punch("1"))], duplicates: [] });
    expectDone(world, [punch("1")]);
  });

  it("a punch the queue refuses is removed and reported; the others are stored and sent", async () => {
    const world = new World();
    world.queue.refuse = (message) => (message.data.user_id === "2" ? "too large" : undefined);
    const backlog = [punch("1", 1), punch("2", 2), punch("3", 3)];
    const outcome = await recordAttendance(world.instance().deps, request(backlog));
    expect(outcome.refused).toEqual([{ position: 1, reason: "refused_by_queue", message: "too large" }]);
    expect(outcome.stored).toEqual([
      idOf(backlog[0] as AttendanceRecord),
      idOf(backlog[2] as AttendanceRecord),
    ]);
    expect([...world.store.items.keys()].sort()).toEqual(outcome.stored.slice().sort());
  });
});
