import { describe, expect, it } from "vitest";
import { normalizeAttTime } from "../../../functions/core/att-time.ts";
import { attendanceEventId, recordAttendance } from "../../../functions/core/attendance.ts";
import { quarantineAll } from "../../../functions/core/quarantine.ts";
import { replayAttendance } from "../../../functions/core/replay.ts";
import type { AttendanceRecord } from "../../../functions/core/schemas/attendance.ts";
import { parseWindow } from "../../../functions/core/time-window.ts";
import {
  FakeClock,
  MemoryAttendanceStore,
  MemoryEventQueue,
  MemoryQuarantineStore,
} from "../../support/memory/index.ts";

const punch = (userId: string, time: string, attState = 0): AttendanceRecord => ({
  user_id: userId,
  att_time: time,
  att_state: attState,
});
const idOf = (sn: string, record: AttendanceRecord) =>
  attendanceEventId(sn, record.user_id, normalizeAttTime(record.att_time) as string, record.att_state);

function world() {
  const store = new MemoryAttendanceStore();
  const events = new MemoryEventQueue();
  const clock = new FakeClock();
  const record = (sn: string, records: AttendanceRecord[]) =>
    recordAttendance({ attendance: store, events, clock }, { sn, records, transport: "mqtt" });
  return { store, events, clock, record };
}

const MORNING = [
  punch("1001", "2026-11-22 08:00:00"),
  punch("1002", "2026-11-22 08:01:00"),
  punch("1001", "2026-11-22 17:00:00", 1),
];

describe("recording attendance", () => {
  it("stores each punch once and puts it on the events queue once, in the device's order", async () => {
    const { store, events, record } = world();
    const outcome = await record("SN1", MORNING);

    expect(outcome.stored).toEqual(MORNING.map((p) => idOf("SN1", p)));
    expect(store.items.size).toBe(3);
    expect(events.ofType("attendance").map((m) => m.eventId)).toEqual(outcome.stored);
  });

  it("stores a punch sent twice in one backlog, or again later, once; consumers see it once", async () => {
    const { store, events, record } = world();
    const [first] = MORNING as [AttendanceRecord];
    const once = await record("SN1", [first, first]);
    const again = await record("SN1", [first]);

    expect(once.duplicates).toEqual([idOf("SN1", first)]);
    expect(again).toMatchObject({ stored: [], duplicates: [idOf("SN1", first)] });
    expect(store.items.size).toBe(1);
    expect(events.consumed()).toHaveLength(1);
  });

  it("neither stores nor sends a punch the events queue refuses, and reports where it was", async () => {
    const { store, events, record } = world();
    events.refuse = (m) => (m.data.user_id === "1002" ? "too large to fan out" : undefined);

    const outcome = await record("SN1", MORNING);

    expect(outcome.refused).toEqual([
      { position: 1, reason: "refused_by_queue", message: expect.any(String) },
    ]);
    expect([...store.items.keys()]).not.toContain(idOf("SN1", MORNING[1] as AttendanceRecord));
    expect(events.consumed().map((m) => m.data.user_id)).toEqual(["1001", "1001"]);
  });

  it("removes its writes when the send fails, so the sender's retry finds the punches new", async () => {
    const { store, events, record } = world();
    events.failNext = 1;
    await expect(record("SN1", MORNING)).rejects.toThrow();
    expect(store.items.size).toBe(0);

    const retried = await record("SN1", MORNING);

    expect(retried.stored).toHaveLength(3);
    expect(events.consumed()).toHaveLength(3);
  });
});

describe("replaying attendance", () => {
  async function stored() {
    const w = world();
    await w.record("SN1", MORNING);
    await w.record("SN2", [punch("2001", "2026-11-22 09:00:00"), punch("2001", "2026-11-23 09:00:00")]);
    const replayed = new MemoryEventQueue();
    return { ...w, replay: { reader: w.store, events: replayed }, replayed };
  }

  it("sends a device's punches in a window again, in time order, with their first eventIds", async () => {
    const { events, replay, replayed } = await stored();
    const progress = await replayAttendance(replay, {
      window: parseWindow("2026-11-22", "2026-11-22"),
      sn: "SN1",
      pageSize: 10,
    });

    expect(progress).toMatchObject({ replayed: 3, done: true, through: "2026-11-22T17:00:00.000" });
    expect(replayed.sent.map((m) => m.eventId)).toEqual(
      events.sent.filter((m) => m.sn === "SN1").map((m) => m.eventId),
    );
  });

  it("pages: a replay resumed from its cursor sends every punch of the window once, none outside it", async () => {
    const { replay, replayed } = await stored();
    const window = parseWindow("2026-11-22", "2026-11-22");
    let progress = await replayAttendance(replay, { window, pageSize: 2 });
    const calls = [progress];
    while (progress.cursor) {
      progress = await replayAttendance(replay, { window, pageSize: 2, cursor: progress.cursor });
      calls.push(progress);
    }

    expect(calls.at(-1)?.done).toBe(true);
    expect(replayed.sent.map((m) => `${m.sn}/${m.data.user_id}/${m.data.att_time}`).sort()).toEqual([
      "SN1/1001/2026-11-22 08:00:00",
      "SN1/1001/2026-11-22 17:00:00",
      "SN1/1002/2026-11-22 08:01:00",
      "SN2/2001/2026-11-22 09:00:00",
    ]);
  });

  it("gives every call fresh deduplication ids, so the queue does not drop a replay as a repeat", async () => {
    const { replay, replayed } = await stored();
    const request = { window: parseWindow("2026-11-22", "2026-11-22"), sn: "SN1", pageSize: 10 };
    await replayAttendance(replay, request);
    await replayAttendance(replay, request);

    const ids = replayed.deliveries.map((d) => d.deduplicationId);
    expect(new Set(ids).size).toBe(6);
    expect(replayed.consumed()).toHaveLength(3);
  });

  it("refuses a cursor of another query", async () => {
    const { replay } = await stored();
    const window = parseWindow("2026-11-22", "2026-11-22");
    const { cursor } = await replayAttendance(replay, { window, sn: "SN1", pageSize: 1 });

    await expect(replayAttendance(replay, { window, sn: "SN2", pageSize: 1, cursor })).rejects.toMatchObject({
      field: "cursor",
    });
  });
});

describe("the quarantine", () => {
  it("keeps a backlog's rejections in one write, listed by day newest first, the body cut at its limit", async () => {
    const quarantine = new MemoryQuarantineStore();
    const clock = new FakeClock("2026-11-22T23:59:59.000Z");
    const rejection = { transport: "mqtt" as const, status: 422, reason: "invalid_field", field: "att_time" };
    await quarantineAll({ quarantine, clock }, [{ ...rejection, message: "first", raw: "{}" }]);
    clock.advance(2_000);
    await quarantineAll({ quarantine, clock }, [
      { ...rejection, message: "second", raw: "x".repeat(40 * 1024) },
      { ...rejection, message: "third", raw: "{}" },
    ]);

    clock.advance(1_000);
    await quarantineAll({ quarantine, clock }, [{ ...rejection, message: "newest", raw: "{}" }]);

    expect(quarantine.counts).toEqual({ puts: 0, batches: 3 });
    expect((await quarantine.byDay("2026-11-22", { limit: 10 })).items.map((e) => e.message)).toEqual([
      "first",
    ]);
    // Both entries of one backlog share their receivedAt; their order between them is their random ids'.
    const [newest, ...older] = (await quarantine.byDay("2026-11-23", { limit: 10 })).items;
    expect(newest?.message).toBe("newest");
    expect(older.map((e) => [e.message, e.truncated]).sort()).toEqual([
      ["second", true],
      ["third", false],
    ]);
  });
});
