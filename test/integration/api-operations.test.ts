import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DynamoDbApiKeyStore } from "../../functions/adapters/dynamodb/api-key-store.ts";
import { PAGED_ROUTES, routeCursor } from "../../functions/api/route-cursor.ts";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import type { ApiAnswer } from "../support/api-server.ts";
import {
  type Api,
  collectPages,
  createKeys,
  expectProblem,
  type Fleet,
  forgeCursor,
  iso,
  type Keys,
  PUNCHES,
  type PunchName,
  SN,
  seedFleet,
  startOpsApi,
  T0,
  withQuery,
} from "../support/ops-fixtures.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";

let env: TestResources;
let keys: Keys;
let api: Api;
let fleet: Fleet;

beforeAll(async () => {
  env = await createTestResources();
  keys = await createKeys(env);
  api = await startOpsApi(env, keys.store);
  fleet = await seedFleet(env);
});
afterAll(async () => {
  await api?.stop();
  env?.destroy();
});

const get = (path: string, key: string | null = keys.admin) => api.request("GET", path, { key });
const post = (path: string, body: unknown, key: string | null = keys.admin) =>
  api.request("POST", path, { body, key });
const replay = (body: unknown, key: string | null = keys.admin) => post("/v1/replay", body, key);

interface AttendanceItem {
  eventId: string;
  sn: string;
  user_id: string;
  att_time: string;
  att_time_normalized: string;
  att_state: number;
  received_at: string;
  transport: string;
  extra: Record<string, unknown>;
}
interface DeviceItem {
  sn: string;
  online?: boolean;
  since?: string;
  reason?: string;
  connectedAt?: string;
  lastSeenAt?: string;
}
interface ReplayProgress {
  replayed: number;
  through?: string;
  cursor?: string;
  done: boolean;
}

const attendance = (sn: string) => `/v1/devices/${sn}/attendance`;
const userAttendance = (userId: string) => `/v1/users/${userId}/attendance`;
const items = <T>(answer: ApiAnswer) => answer.body.items as T[];
const eventIdsOf = (...names: PunchName[]) => names.map((name) => fleet.eventIds[name]);
const byTime = (a: AttendanceItem, b: AttendanceItem) =>
  a.att_time_normalized < b.att_time_normalized ? -1 : a.att_time_normalized > b.att_time_normalized ? 1 : 0;

/** Takes the attendance messages now on the events queue. */
async function drainAttendance(): Promise<FanoutMessage[]> {
  return (await env.drainEvents()).filter((event) => event.type === "attendance");
}

/** Calls POST /v1/replay with each answer's cursor until done; returns every answer and what reached the queue. */
async function replayAll(body: Record<string, unknown>, maxCalls = 200) {
  await env.drainEvents();
  const answers: ReplayProgress[] = [];
  const sent: FanoutMessage[] = [];
  let cursor: string | undefined;
  do {
    const answer = await replay({ ...body, ...(cursor ? { cursor } : {}) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const progress = answer.body as unknown as ReplayProgress;
    answers.push(progress);
    const messages = await drainAttendance();
    // What a call says it replayed is what reached the queue, page by page.
    expect(messages).toHaveLength(progress.replayed);
    sent.push(...messages);
    expect(progress.done).toBe(progress.cursor === undefined);
    cursor = progress.cursor;
    expect(answers.length).toBeLessThanOrEqual(maxCalls);
  } while (cursor);
  return { answers, sent };
}

describe("GET /v1/devices", () => {
  it("lists every device the broker has seen, by serial number, with its presence", async () => {
    const answer = await get("/v1/devices");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    expect(answer.body.cursor).toBeUndefined();
    const devices = items<DeviceItem>(answer);
    expect(devices.map((d) => d.sn)).toEqual([SN.A, SN.B, SN.C, SN.D, SN.E]);
    const bySn = Object.fromEntries(devices.map((d) => [d.sn, d]));
    expect(bySn[SN.A]).toEqual({
      sn: SN.A,
      online: true,
      since: iso(T0),
      reason: "connected",
      connectedAt: iso(T0),
      lastSeenAt: iso(T0),
    });
    expect(bySn[SN.B]).toEqual({
      sn: SN.B,
      online: false,
      since: iso(T0 + 60_000),
      reason: "keepalive_timeout",
      connectedAt: iso(T0),
      lastSeenAt: iso(T0 + 60_000),
    });
    expect(bySn[SN.D]).toEqual({
      sn: SN.D,
      online: true,
      since: iso(T0 + 2_000),
      reason: "status",
      lastSeenAt: iso(T0 + 2_000),
    });
  });

  // `online` is a DynamoDB reserved word: this failed with 503 until readers.ts used a placeholder.
  it("filters on online=true and online=false", async () => {
    const online = await get("/v1/devices?online=true");
    expect(online.status).toBe(200);
    expect(items<DeviceItem>(online).map((d) => d.sn)).toEqual([SN.A, SN.C, SN.D]);
    expect(items<DeviceItem>(online).every((d) => d.online === true)).toBe(true);
    const offline = await get("/v1/devices?online=false");
    expect(offline.status).toBe(200);
    expect(items<DeviceItem>(offline).map((d) => d.sn)).toEqual([SN.B, SN.E]);
    expect(items<DeviceItem>(offline).every((d) => d.online === false)).toBe(true);
  });

  it("pages with limit=2, returning every device exactly once", async () => {
    const { items: all, pages } = await collectPages<DeviceItem>(api, keys.read, "/v1/devices?limit=2");
    expect(all.map((d) => d.sn)).toEqual([SN.A, SN.B, SN.C, SN.D, SN.E]);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.every((p) => p.items.length <= 2)).toBe(true);
  });

  it("pages a filtered list too (a page may come back short, never with a duplicate)", async () => {
    const online = await collectPages<DeviceItem>(api, keys.read, "/v1/devices?online=true&limit=1");
    expect(online.items.map((d) => d.sn)).toEqual([SN.A, SN.C, SN.D]);
    const offline = await collectPages<DeviceItem>(api, keys.read, "/v1/devices?online=false&limit=2");
    expect(offline.items.map((d) => d.sn)).toEqual([SN.B, SN.E]);
  });

  it.each([
    ["online=maybe", "online"],
    ["online=TRUE", "online"],
    ["online=", "online"],
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=two", "limit"],
    ["limit=-1", "limit"],
  ])("answers 400 for ?%s naming '%s'", async (query, field) => {
    expectProblem(await get(`/v1/devices?${query}`), 400, field);
  });
});

describe("GET /v1/devices/{sn}", () => {
  it("shows presence, session and the count of pending commands", async () => {
    const answer = await get(`/v1/devices/${SN.A}`, keys.read);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      device: {
        sn: SN.A,
        online: true,
        since: iso(T0),
        reason: "connected",
        connectedAt: iso(T0),
        lastSeenAt: iso(T0),
        pendingCommands: 2,
      },
    });
  });

  it("shows an offline device with why and since when, and no pending commands", async () => {
    const answer = await get(`/v1/devices/${SN.E}`, keys.read);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      device: {
        sn: SN.E,
        online: false,
        since: iso(T0 + 5_000),
        reason: "tcp_closed",
        connectedAt: iso(T0),
        lastSeenAt: iso(T0 + 5_000),
        pendingCommands: 0,
      },
    });
  });

  it("shows a device the broker never saw but that has pending commands", async () => {
    const answer = await get(`/v1/devices/${SN.X}`, keys.read);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ device: { sn: SN.X, pendingCommands: 1 } });
  });

  it("answers 404 for a device never seen", async () => {
    expectProblem(await get("/v1/devices/SN-NEVER-SEEN"), 404);
  });

  it.each([
    ["a space", "bad%20sn"],
    ["a dot", "bad.sn"],
    ["an encoded slash", "a%2Fb"],
    ["65 characters", "S".repeat(65)],
    ["a '#'", "a%23b"],
  ])("answers 400 naming 'sn' for a serial number with %s", async (_name, sn) => {
    expectProblem(await get(`/v1/devices/${sn}`), 400, "sn");
  });
});

describe("GET /v1/devices/{sn}/attendance", () => {
  it("returns a device's punches in time order, whatever order they arrived in, with every field", async () => {
    const answer = await get(attendance(SN.A), keys.read);
    expect(answer.status).toBe(200);
    const punches = items<AttendanceItem>(answer);
    expect(punches.map((p) => p.eventId)).toEqual(eventIdsOf("a1", "a3", "a2", "a4", "a5"));
    expect([...punches].sort(byTime)).toEqual(punches);
    expect(answer.body.cursor).toBeUndefined();
    expect(punches.find((p) => p.eventId === fleet.eventIds.a3)).toEqual({
      eventId: fleet.eventIds.a3,
      sn: SN.A,
      user_id: "1002",
      att_time: "2026-11-22T08:30:00+08:00",
      att_time_normalized: "2026-11-22T00:30:00.000Z",
      att_state: 0,
      received_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      transport: "mqtt",
      extra: {
        verify_mode: "face",
        temperature: 36.5,
        photo: { id: "p-1", bytes: 2048 },
        tags: ["gate", "north"],
      },
    });
    expect(punches.find((p) => p.eventId === fleet.eventIds.a4)?.extra).toEqual({});
  });

  it("matches what the first fan-out carried for each punch", async () => {
    const punches = items<AttendanceItem>(await get(attendance(SN.B)));
    expect(punches).toHaveLength(3);
    for (const p of punches) {
      const first = fleet.firstFanout.get(p.eventId);
      expect(first).toMatchObject({
        sn: p.sn,
        at: p.att_time_normalized,
        data: {
          ...p.extra,
          user_id: p.user_id,
          att_time: p.att_time,
          att_state: p.att_state,
          received_at: p.received_at,
          transport: p.transport,
        },
      });
    }
  });

  it("windows by date: a date is the whole day, both ends inclusive", async () => {
    const day = await get(withQuery(attendance(SN.A), { from: "2026-11-22", to: "2026-11-22" }));
    expect(day.status).toBe(200);
    expect(items<AttendanceItem>(day).map((p) => p.eventId)).toEqual(eventIdsOf("a3", "a2", "a4"));
    const twoDays = await get(withQuery(attendance(SN.A), { from: "2026-11-22", to: "2026-11-23" }));
    expect(items<AttendanceItem>(twoDays).map((p) => p.eventId)).toEqual(eventIdsOf("a3", "a2", "a4", "a5"));
    const onlyFrom = await get(withQuery(attendance(SN.A), { from: "2026-11-23" }));
    expect(items<AttendanceItem>(onlyFrom).map((p) => p.eventId)).toEqual(eventIdsOf("a5"));
    const onlyTo = await get(withQuery(attendance(SN.A), { to: "2026-11-21" }));
    expect(items<AttendanceItem>(onlyTo).map((p) => p.eventId)).toEqual(eventIdsOf("a1"));
    const none = await get(withQuery(attendance(SN.A), { from: "2025-01-01", to: "2025-12-31" }));
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ items: [] });
  });

  it("windows by ISO time with an offset (compared in UTC) and without one (inclusive)", async () => {
    // 2026-11-21T19:00-05:00 is 2026-11-22T00:00Z; 2026-11-22T15:00+08:00 is 2026-11-22T07:00Z.
    const utc = await get(
      withQuery(attendance(SN.A), { from: "2026-11-21T19:00:00-05:00", to: "2026-11-22T15:00:00+08:00" }),
    );
    expect(utc.status).toBe(200);
    expect(items<AttendanceItem>(utc).map((p) => p.eventId)).toEqual(eventIdsOf("a3"));
    const local = await get(
      withQuery(attendance(SN.A), { from: "2026-11-22T08:00:00", to: "2026-11-22T17:30:00" }),
    );
    expect(items<AttendanceItem>(local).map((p) => p.eventId)).toEqual(eventIdsOf("a2", "a4"));
    const milliseconds = await get(
      withQuery(attendance(SN.A), { from: "2026-11-22T08:00:00.001", to: "2026-11-22T17:29:59.999" }),
    );
    expect(items<AttendanceItem>(milliseconds)).toEqual([]);
  });

  it("pages with limit and cursor: every punch once, in time order", async () => {
    const { items: all, pages } = await collectPages<AttendanceItem>(
      api,
      keys.read,
      withQuery(attendance(SN.A), { limit: 2 }),
    );
    expect(all.map((p) => p.eventId)).toEqual(eventIdsOf("a1", "a3", "a2", "a4", "a5"));
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.every((p) => p.items.length <= 2)).toBe(true);
    const windowed = await collectPages<AttendanceItem>(
      api,
      keys.read,
      withQuery(attendance(SN.A), { from: "2026-11-22", to: "2026-11-22", limit: 1 }),
    );
    expect(windowed.items.map((p) => p.eventId)).toEqual(eventIdsOf("a3", "a2", "a4"));
  });

  it("answers 200 with no items for a valid device without punches", async () => {
    const answer = await get(attendance(SN.C));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ items: [] });
  });

  it.each([
    ["from=yesterday", "from"],
    ["from=2026-11-31", "from"],
    ["from=2026-02-30T08:00:00", "from"],
    ["to=2026-13-01", "to"],
    ["to=22%2F11%2F2026", "to"],
    // An unencoded '+' arrives as a space: refused, not read as another time.
    ["from=2026-11-22T08:00:00+08:00", "from"],
    ["limit=0", "limit"],
    ["limit=1000", "limit"],
  ])("answers 400 for ?%s naming '%s'", async (query, field) => {
    expectProblem(await get(`${attendance(SN.A)}?${query}`), 400, field);
  });

  it("answers 400 when from is after to", async () => {
    const answer = await get(withQuery(attendance(SN.A), { from: "2026-11-23", to: "2026-11-22" }));
    expectProblem(answer, 400, "from");
    const times = await get(
      withQuery(attendance(SN.A), { from: "2026-11-22T10:00:00Z", to: "2026-11-22T09:59:59Z" }),
    );
    expectProblem(times, 400, "from");
  });

  it("answers 400 naming 'sn' for a bad serial number", async () => {
    expectProblem(await get(attendance("bad%20sn")), 400, "sn");
  });
});

describe("GET /v1/users/{userId}/attendance", () => {
  it("returns a user's punches on every device in time order", async () => {
    const answer = await get(userAttendance("1001"), keys.read);
    expect(answer.status).toBe(200);
    const punches = items<AttendanceItem>(answer);
    expect(punches.map((p) => p.eventId)).toEqual(eventIdsOf("a1", "a2", "b1", "a4", "b2"));
    expect(punches.map((p) => p.sn)).toEqual([SN.A, SN.A, SN.B, SN.A, SN.B]);
    expect(punches.every((p) => p.user_id === "1001")).toBe(true);
    expect(punches.find((p) => p.eventId === fleet.eventIds.b1)?.extra).toEqual({ door: 2 });
  });

  it("windows by date and by time", async () => {
    const day = await get(withQuery(userAttendance("1001"), { from: "2026-11-22", to: "2026-11-22" }));
    expect(items<AttendanceItem>(day).map((p) => p.eventId)).toEqual(eventIdsOf("a2", "b1", "a4"));
    const morning = await get(
      withQuery(userAttendance("1001"), { from: "2026-11-22T09:00:00", to: "2026-11-23T12:00:00" }),
    );
    expect(items<AttendanceItem>(morning).map((p) => p.eventId)).toEqual(eventIdsOf("b1", "a4"));
    const other = await get(userAttendance("1002"));
    expect(items<AttendanceItem>(other).map((p) => p.eventId)).toEqual(eventIdsOf("a3", "e1"));
  });

  it("pages with limit=2 across devices, every punch once", async () => {
    const { items: all, pages } = await collectPages<AttendanceItem>(
      api,
      keys.read,
      withQuery(userAttendance("1001"), { limit: 2 }),
    );
    expect(all.map((p) => p.eventId)).toEqual(eventIdsOf("a1", "a2", "b1", "a4", "b2"));
    expect(pages.length).toBeGreaterThanOrEqual(3);
  });

  it("answers 200 with no items for an unknown user", async () => {
    expect((await get(userAttendance("9999"))).body).toEqual({ items: [] });
  });

  it.each([
    ["a '#'", "a%23b", "userId"],
    ["a space", "a%20b", "userId"],
    ["65 characters", "u".repeat(65), "userId"],
  ])("answers 400 for a userId with %s", async (_name, userId, field) => {
    expectProblem(await get(userAttendance(userId)), 400, field);
  });

  it("answers 400 for a bad window", async () => {
    expectProblem(await get(withQuery(userAttendance("1001"), { from: "soon" })), 400, "from");
    expectProblem(
      await get(withQuery(userAttendance("1001"), { from: "2026-11-23", to: "2026-11-21" })),
      400,
      "from",
    );
  });
});

describe("GET /v1/quarantine", () => {
  interface QuarantineItem {
    id: string;
    day: string;
    receivedAt: string;
    status: number;
    reason: string;
    field: string;
    message: string;
    raw: string;
    rawBytes: number;
    truncated: boolean;
    sn?: string;
    transport: string;
  }
  /** Every entry of the days the seed ran on (two only if it ran across midnight UTC). */
  async function seededEntries(): Promise<QuarantineItem[]> {
    const all: QuarantineItem[] = [];
    for (const day of fleet.quarantined.days) {
      all.push(...(await collectPages<QuarantineItem>(api, keys.admin, `/v1/quarantine?day=${day}`)).items);
    }
    return all;
  }

  it("lists what was rejected, with why, the field and the raw body", async () => {
    const entries = await seededEntries();
    const byId = new Map(entries.map((e) => [e.id, e]));
    expect(byId.get(fleet.quarantined.notJson.id)).toMatchObject({
      status: 400,
      field: "body",
      reason: expect.any(String),
      message: expect.any(String),
      raw: "{this is not json",
      rawBytes: Buffer.byteLength("{this is not json"),
      truncated: false,
      transport: "mqtt",
    });
    const badDate = byId.get(fleet.quarantined.badDate.id);
    expect(badDate).toMatchObject({ status: 422, field: "payload.att_time", sn: SN.B, truncated: false });
    expect(badDate?.raw).toContain("2026-02-30 08:00:00");
    const badRecord = byId.get(fleet.quarantined.badRecord.id);
    expect(badRecord).toMatchObject({ status: 422, field: "payload[1].att_state", sn: SN.E });
    expect(JSON.parse(String(badRecord?.raw))).toEqual({
      user_id: "1002",
      att_time: "2026-11-22 12:05:00",
      att_state: "in",
    });
    for (const entry of [byId.get(fleet.quarantined.notJson.id), badDate, badRecord]) {
      expect(entry?.reason.length).toBeGreaterThan(0);
      expect(fleet.quarantined.days).toContain(entry?.day);
    }
  });

  it("lists newest first", async () => {
    for (const day of fleet.quarantined.days) {
      const { items: entries } = await collectPages<QuarantineItem>(
        api,
        keys.admin,
        `/v1/quarantine?day=${day}`,
      );
      const times = entries.map((e) => e.receivedAt);
      expect(times).toEqual([...times].sort().reverse());
    }
  });

  it("defaults to today (UTC)", async () => {
    for (let attempt = 0; ; attempt++) {
      const before = new Date().toISOString().slice(0, 10);
      const implicit = await get("/v1/quarantine");
      const explicit = await get(`/v1/quarantine?day=${before}`);
      const after = new Date().toISOString().slice(0, 10);
      if (before !== after && attempt === 0) continue; // midnight passed between the calls
      expect(implicit.status).toBe(200);
      expect(implicit.body).toEqual(explicit.body);
      break;
    }
  });

  it("pages with limit=1, every entry once", async () => {
    const day = fleet.quarantined.days.at(-1) as string;
    const whole = (await get(`/v1/quarantine?day=${day}`)).body.items as QuarantineItem[];
    const paged = await collectPages<QuarantineItem>(api, keys.admin, `/v1/quarantine?day=${day}&limit=1`);
    expect(paged.items.map((e) => e.id)).toEqual(whole.map((e) => e.id));
    expect(new Set(paged.items.map((e) => e.id)).size).toBe(paged.items.length);
  });

  it("answers an empty page for a day without rejections", async () => {
    const answer = await get("/v1/quarantine?day=2020-01-01");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ items: [] });
  });

  it.each([
    ["day=today", "day"],
    ["day=2026-1-1", "day"],
    ["day=2026-11-22T00:00:00Z", "day"],
    ["day=", "day"],
    ["limit=0", "limit"],
  ])("answers 400 for ?%s naming '%s'", async (query, field) => {
    expectProblem(await get(`/v1/quarantine?${query}`), 400, field);
  });
});

describe("POST /v1/replay", () => {
  it("resends a device's window with the same eventIds and the same messages as the first fan-out", async () => {
    const { answers, sent } = await replayAll({ from: "2026-11-22", to: "2026-11-22", sn: SN.A });
    expect(answers).toEqual([{ replayed: 3, through: "2026-11-22T17:30:00.000", done: true }]);
    expect(sent.map((m) => m.eventId).sort()).toEqual(eventIdsOf("a3", "a2", "a4").sort());
    for (const message of sent) expect(message).toEqual(fleet.firstFanout.get(message.eventId));
  });

  it("pages with pageSize 2: each punch exactly once across calls, through moving forward", async () => {
    const { answers, sent } = await replayAll({
      from: "2026-11-21",
      to: "2026-11-23",
      sn: SN.A,
      pageSize: 2,
    });
    expect(answers.length).toBeGreaterThanOrEqual(3);
    expect(answers.every((a) => a.replayed <= 2)).toBe(true);
    expect(answers.at(-1)?.done).toBe(true);
    expect(answers.slice(0, -1).every((a) => !a.done && typeof a.cursor === "string")).toBe(true);
    expect(sent.map((m) => m.eventId)).toEqual(eventIdsOf("a1", "a3", "a2", "a4", "a5"));
    expect(answers.reduce((n, a) => n + a.replayed, 0)).toBe(5);
    const through = answers.flatMap((a) => (a.through ? [a.through] : []));
    expect(through).toEqual([...through].sort());
    expect(new Set(through).size).toBe(through.length);
    expect(through.at(-1)).toBe(PUNCHES.a5.normalized);
    expect(through[0]).toBe(PUNCHES.a3.normalized);
    for (const message of sent) expect(message).toEqual(fleet.firstFanout.get(message.eventId));
  });

  it("without sn replays every device's attendance in the window, each once", async () => {
    const { answers, sent } = await replayAll({ from: "2026-11-22", to: "2026-11-22", pageSize: 2 });
    expect(answers.at(-1)?.done).toBe(true);
    expect(answers.every((a) => a.replayed <= 2)).toBe(true);
    expect(sent.map((m) => m.eventId).sort()).toEqual(eventIdsOf("a2", "a3", "a4", "b1", "e1").sort());
    for (const message of sent) expect(message).toEqual(fleet.firstFanout.get(message.eventId));
  });

  it("without sn and with the default page replays everything in a wide window in one call", async () => {
    const { answers, sent } = await replayAll({ from: "2026-01-01", to: "2026-12-31" });
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ replayed: Object.keys(PUNCHES).length, done: true });
    expect(new Set(sent.map((m) => m.eventId))).toEqual(new Set(Object.values(fleet.eventIds)));
  });

  it("replays nothing for an empty window, and says it is done", async () => {
    const { answers, sent } = await replayAll({ from: "2025-01-01", to: "2025-01-31", sn: SN.A });
    expect(answers).toEqual([{ replayed: 0, done: true }]);
    expect(sent).toEqual([]);
  });

  it("refuses a replay cursor of one device with another device's sn (400 naming cursor), replaying nothing", async () => {
    const first = await replay({ from: "2026-11-21", to: "2026-11-23", sn: SN.A, pageSize: 1 });
    expect(first.status).toBe(200);
    const cursor = first.body.cursor as string;
    expect(cursor).toEqual(expect.any(String));
    await env.drainEvents();
    expectProblem(await replay({ from: "2026-11-21", to: "2026-11-23", sn: SN.B, cursor }), 400, "cursor");
    expect(await drainAttendance()).toEqual([]);
  });

  it.each<[string, unknown, number, string]>([
    ["a body that is not JSON", "{from:", 400, "body"],
    ["an empty body", "", 400, "body"],
    ["a missing from", { to: "2026-11-22" }, 422, "from"],
    ["a missing to", { from: "2026-11-22" }, 422, "to"],
    ["a from that is not a string", { from: 20261122, to: "2026-11-22" }, 422, "from"],
    ["a from that is not a time", { from: "yesterday", to: "2026-11-22" }, 400, "from"],
    ["a to that is not a time", { from: "2026-11-22", to: "2026-11-32" }, 400, "to"],
    ["from after to", { from: "2026-11-23", to: "2026-11-22" }, 400, "from"],
    ["a bad sn", { from: "2026-11-22", to: "2026-11-22", sn: "bad sn" }, 422, "sn"],
    ["an sn that is not a string", { from: "2026-11-22", to: "2026-11-22", sn: 7 }, 422, "sn"],
    ["pageSize 0", { from: "2026-11-22", to: "2026-11-22", pageSize: 0 }, 422, "pageSize"],
    ["pageSize 1001", { from: "2026-11-22", to: "2026-11-22", pageSize: 1001 }, 422, "pageSize"],
    ["a fractional pageSize", { from: "2026-11-22", to: "2026-11-22", pageSize: 1.5 }, 422, "pageSize"],
    ["a pageSize in a string", { from: "2026-11-22", to: "2026-11-22", pageSize: "2" }, 422, "pageSize"],
    ["an unknown field", { from: "2026-11-22", to: "2026-11-22", colour: "red" }, 422, "colour"],
    [
      "a cursor that is not base64url JSON",
      { from: "2026-11-22", to: "2026-11-22", cursor: "!!" },
      400,
      "cursor",
    ],
    ["a cursor that is not a string", { from: "2026-11-22", to: "2026-11-22", cursor: 5 }, 422, "cursor"],
  ])("rejects %s naming the field and replays nothing", async (_name, body, status, field) => {
    await env.drainEvents();
    expectProblem(await replay(body), status, field);
    expect(await drainAttendance()).toEqual([]);
  });

  it.each([
    ["null", "null"],
    ["an array", "[]"],
    ["a string", '"2026-11-22"'],
    ["a number", "42"],
  ])("answers 400 naming 'body' for a JSON body that is %s", async (_name, body) => {
    expectProblem(await replay(body), 400, "body");
  });

  // A replay is not a command: the 422 type must not say so (it said "invalid_command").
  it("types a replay body's 422 as something other than a command problem", async () => {
    const answer = await replay({ to: "2026-11-22" });
    expectProblem(answer, 422, "from");
    expect(answer.body.type).not.toBe("invalid_command");
  });
});

describe("API keys and scopes", () => {
  const validReplay = { from: "2025-01-01", to: "2025-01-02", sn: SN.A };
  type Call = { name: string; run: (key: string | null) => Promise<ApiAnswer>; ok: number };
  const calls: Call[] = [
    { name: "GET /v1/devices", run: (key) => get("/v1/devices", key), ok: 200 },
    { name: "GET /v1/devices/{sn}", run: (key) => get(`/v1/devices/${SN.A}`, key), ok: 200 },
    { name: "GET /v1/devices/{sn}/attendance", run: (key) => get(attendance(SN.A), key), ok: 200 },
    { name: "GET /v1/users/{userId}/attendance", run: (key) => get(userAttendance("1001"), key), ok: 200 },
    {
      name: "GET /v1/devices/{sn}/commands",
      run: (key) => get(`/v1/devices/${SN.A}/commands`, key),
      ok: 200,
    },
    {
      name: "GET /v1/devices/{sn}/commands/{id}",
      run: (key) => get(`/v1/devices/${SN.A}/commands/cmd-a1`, key),
      ok: 200,
    },
    {
      name: "POST /v1/devices/{sn}/commands",
      run: (key) => post(`/v1/devices/${SN.C}/commands`, { op: "noop" }, key),
      ok: 202,
    },
    { name: "GET /v1/quarantine", run: (key) => get("/v1/quarantine", key), ok: 200 },
    { name: "POST /v1/replay", run: (key) => replay(validReplay, key), ok: 200 },
  ];
  const allowed: Record<"read" | "commands" | "readAndCommands" | "admin" | "otherAdmin", string[]> = {
    read: [
      "GET /v1/devices",
      "GET /v1/devices/{sn}",
      "GET /v1/devices/{sn}/attendance",
      "GET /v1/users/{userId}/attendance",
      "GET /v1/devices/{sn}/commands",
      "GET /v1/devices/{sn}/commands/{id}",
    ],
    commands: [
      "GET /v1/devices/{sn}/commands",
      "GET /v1/devices/{sn}/commands/{id}",
      "POST /v1/devices/{sn}/commands",
    ],
    readAndCommands: [
      "GET /v1/devices",
      "GET /v1/devices/{sn}",
      "GET /v1/devices/{sn}/attendance",
      "GET /v1/users/{userId}/attendance",
      "GET /v1/devices/{sn}/commands",
      "GET /v1/devices/{sn}/commands/{id}",
      "POST /v1/devices/{sn}/commands",
    ],
    admin: calls.map((c) => c.name),
    otherAdmin: calls.map((c) => c.name),
  };

  for (const [scope, names] of Object.entries(allowed) as Array<[keyof typeof allowed, string[]]>) {
    describe(`a '${scope}' key`, () => {
      it.each(calls)("$name", async (call) => {
        const answer = await call.run(keys[scope]);
        if (names.includes(call.name)) {
          expect(answer.status, JSON.stringify(answer.body)).toBe(call.ok);
        } else {
          expectProblem(answer, 403);
          expect(answer.body.type).toBe("forbidden");
        }
      });
    });
  }

  it.each(calls)(
    "$name answers 401 without a key, with an unknown key and with a malformed header",
    async (call) => {
      for (const key of [null, "bk_not-a-key-anyone-was-given", ""]) {
        const answer = await call.run(key);
        expectProblem(answer, 401);
        expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer /);
      }
    },
  );

  it("answers 401 for a key sent without the Bearer scheme", async () => {
    const response = await fetch(`${api.url}/v1/devices`, { headers: { authorization: keys.admin } });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it("stores only the hash of a key", async () => {
    const stored = await keys.store.list();
    expect(stored.length).toBeGreaterThanOrEqual(6);
    for (const key of [keys.read, keys.commands, keys.admin, keys.otherAdmin]) {
      expect(JSON.stringify(stored)).not.toContain(key);
    }
    expect(stored.every((k) => /^[0-9a-f]{64}$/.test(k.hash))).toBe(true);
  });

  it("answers 401 for an unknown path without a key, and 404 with any valid key", async () => {
    for (const [method, path] of [
      ["GET", "/v1/nothing-here"],
      ["GET", "/"],
      ["DELETE", `/v1/devices/${SN.A}`],
      ["PUT", "/v1/replay"],
    ] as const) {
      const anonymous = await api.request(method, path, { key: null });
      expectProblem(anonymous, 401);
      expectProblem(await api.request(method, path, { key: "bk_unknown" }), 401);
      for (const key of [keys.read, keys.commands, keys.admin]) {
        expectProblem(await api.request(method, path, { key }), 404);
      }
    }
  });

  it("stops accepting a revoked key: at once for a new store, within 30 s for a warm one", async () => {
    expect((await get("/v1/devices", keys.doomed)).status).toBe(200); // warms this store's cache
    expect(await keys.store.revoke("leaked")).toBe(1);

    const fresh = await startOpsApi(env, new DynamoDbApiKeyStore(env.dynamodb, env.tableName));
    try {
      for (const path of ["/v1/devices", "/v1/quarantine", "/v1/nothing-here"]) {
        expectProblem(await fresh.request("GET", path, { key: keys.doomed }), 401);
      }
      expectProblem(await fresh.request("POST", "/v1/replay", { key: keys.doomed, body: validReplay }), 401);
      expect((await fresh.request("GET", "/v1/devices", { key: keys.admin })).status).toBe(200);
    } finally {
      await fresh.stop();
    }

    // The warm store keeps its answer for up to 30 s (documented), then asks the table again.
    expect((await get("/v1/devices", keys.doomed)).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 31_000 });
    try {
      expectProblem(await get("/v1/devices", keys.doomed), 401);
      expect((await get("/v1/devices", keys.admin)).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("cursors", () => {
  const sk = (p: (typeof PUNCHES)[PunchName]) => `ATT#${p.normalized}#${p.user_id}#${p.att_state}`;

  async function cursorOf(path: string): Promise<string> {
    const answer = await get(withQuery(path, { limit: 1 }));
    expect(answer.status).toBe(200);
    expect(answer.body.cursor).toEqual(expect.any(String));
    return answer.body.cursor as string;
  }

  /** A bad cursor is a 400 naming it: never a 500 or 503, never someone else's data. */
  async function expectCursorRefused(path: string, cursor: string) {
    const answer = await get(withQuery(path, { cursor }));
    expect(answer.status, JSON.stringify(answer.body)).not.toBe(500);
    expect(answer.body.items).toBeUndefined();
    expectProblem(answer, 400, "cursor");
  }

  it.each([
    ["random base64url", "q83vEjRWeJq83vEjRWeJ"],
    ["random bytes", Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]).toString("base64url")],
    ["not base64url at all", "%%%"],
    ["JSON null", forgeCursor(null)],
    ["a JSON number", forgeCursor(42)],
    ["an empty object", forgeCursor({})],
    ["a key with a number type", forgeCursor({ pk: { N: "1" }, sk: { S: "ATT#x" } })],
    [
      "a key with an extra attribute",
      forgeCursor({ pk: { S: `DEVICE#${SN.A}` }, sk: { S: "ATT#x" }, x: { S: "" } }),
    ],
  ])(
    "refuses a forged cursor (%s) on every paged route, with or without the route's tag",
    async (_name, forged) => {
      for (const [path, route] of [
        ["/v1/devices", PAGED_ROUTES.devices],
        [attendance(SN.A), PAGED_ROUTES.deviceAttendance],
        [userAttendance("1001"), PAGED_ROUTES.userAttendance],
        ["/v1/quarantine", PAGED_ROUTES.quarantine],
        [`/v1/devices/${SN.A}/commands`, PAGED_ROUTES.commands],
      ] as const) {
        await expectCursorRefused(path, forged);
        // With the tag the route hands out, the store's own checks are what refuse it.
        await expectCursorRefused(path, routeCursor(route, forged) as string);
      }
      await env.drainEvents();
      for (const cursor of [forged, routeCursor(PAGED_ROUTES.replay, forged)]) {
        expectProblem(
          await replay({ from: "2026-11-21", to: "2026-11-23", sn: SN.A, cursor }),
          400,
          "cursor",
        );
        expectProblem(await replay({ from: "2026-11-21", to: "2026-11-23", cursor }), 400, "cursor");
      }
      expect(await drainAttendance()).toEqual([]);
    },
  );

  it("refuses a replay's cursor on the device's attendance and the attendance cursor on the replay", async () => {
    // Both read the same device and window, so only the route tells their cursors apart.
    const window = { from: "2026-11-21", to: "2026-11-23" };
    const replayed = await replay({ ...window, sn: SN.A, pageSize: 1 });
    expect(replayed.body.cursor).toEqual(expect.any(String));
    const listed = await cursorOf(withQuery(attendance(SN.A), window));
    await env.drainEvents();
    await expectCursorRefused(withQuery(attendance(SN.A), window), replayed.body.cursor as string);
    expectProblem(await replay({ ...window, sn: SN.A, cursor: listed }), 400, "cursor");
    expect(await drainAttendance()).toEqual([]);
    // Each still continues its own route.
    expect((await get(withQuery(attendance(SN.A), { ...window, cursor: listed }))).status).toBe(200);
    expect((await replay({ ...window, sn: SN.A, cursor: replayed.body.cursor })).status).toBe(200);
    await env.drainEvents();
  });

  it("refuses every paged route's cursor on every other paged route", async () => {
    const reads: Record<string, string> = {
      devices: "/v1/devices",
      deviceAttendance: attendance(SN.A),
      userAttendance: userAttendance("1001"),
      quarantine: `/v1/quarantine?day=${fleet.quarantined.days.at(-1)}`,
      commands: `/v1/devices/${SN.A}/commands`,
    };
    const cursors: Record<string, string> = {};
    for (const [name, path] of Object.entries(reads)) cursors[name] = await cursorOf(path);
    cursors.replay = (await replay({ from: "2026-11-21", to: "2026-11-23", sn: SN.A, pageSize: 1 })).body
      .cursor as string;
    await env.drainEvents();
    for (const [owner, cursor] of Object.entries(cursors)) {
      for (const [name, path] of Object.entries(reads)) {
        if (name !== owner) await expectCursorRefused(path, cursor);
      }
      if (owner !== "replay") {
        const answer = await replay({ from: "2026-11-21", to: "2026-11-23", sn: SN.A, cursor });
        expectProblem(answer, 400, "cursor");
      }
    }
    expect(await drainAttendance()).toEqual([]);
  });

  it("refuses one device's attendance cursor on another device", async () => {
    const cursor = await cursorOf(attendance(SN.A));
    await expectCursorRefused(attendance(SN.B), cursor);
    await expectCursorRefused(attendance(SN.C), cursor);
  });

  it("refuses a hand-made cursor pointing into another device's partition", async () => {
    const cursor = forgeCursor({ pk: { S: `DEVICE#${SN.B}` }, sk: { S: sk(PUNCHES.b3) } });
    await expectCursorRefused(attendance(SN.A), cursor);
  });

  it("refuses one user's cursor on another user", async () => {
    const cursor = await cursorOf(userAttendance("1001"));
    await expectCursorRefused(userAttendance("1002"), cursor);
  });

  it("refuses cursors of one kind of list on another", async () => {
    const devices = await cursorOf("/v1/devices");
    const byUser = await cursorOf(userAttendance("1001"));
    const byDevice = await cursorOf(attendance(SN.A));
    const pendingCommands = await cursorOf(`/v1/devices/${SN.A}/commands?status=pending`);
    await expectCursorRefused(attendance(SN.A), devices);
    await expectCursorRefused(attendance(SN.A), byUser);
    await expectCursorRefused(attendance(SN.A), pendingCommands);
    await expectCursorRefused(userAttendance("1001"), byDevice);
    await expectCursorRefused(userAttendance("1001"), devices);
    await expectCursorRefused("/v1/devices", byUser);
    await expectCursorRefused("/v1/devices", byDevice);
    await expectCursorRefused("/v1/quarantine", byDevice);
    await expectCursorRefused(`/v1/devices/${SN.A}/commands`, devices);
  });

  it("refuses another day's quarantine cursor", async () => {
    const day = fleet.quarantined.days.at(-1) as string;
    const cursor = await cursorOf(`/v1/quarantine?day=${day}`);
    await expectCursorRefused("/v1/quarantine?day=2020-01-01", cursor);
  });

  /**
   * A real cursor with its key edited: what a client gets by decoding the base64url JSON after the route's
   * tag, changing the DynamoDB key inside and encoding it again (whatever else the cursor carries is kept).
   */
  function tamper(cursor: string, edit: (key: Record<string, unknown>) => Record<string, unknown>): string {
    const [tag, inner] = [cursor.slice(0, cursor.indexOf(".") + 1), cursor.slice(cursor.indexOf(".") + 1)];
    const decoded = JSON.parse(Buffer.from(inner, "base64url").toString()) as Record<string, unknown>;
    const wrapped = typeof decoded.k === "object" && decoded.k !== null;
    const key = (wrapped ? decoded.k : decoded) as Record<string, unknown>;
    const edited = edit(structuredClone(key));
    return tag + forgeCursor(wrapped ? { ...decoded, k: edited } : edited);
  }
  const dayWindow = withQuery(attendance(SN.A), { from: "2026-11-22", to: "2026-11-22" });

  // Cursors of another list in the same partition (commands live in DEVICE#{sn} too), of another window,
  // or edited to point outside what the query reads were passed to DynamoDB, which refused the start key;
  // that was answered 503 "failed unexpectedly" until cursors were bound to their query (cbc492a).
  it.each<[string, string, () => Promise<string>]>([
    ["the commands list's cursor", attendance(SN.A), () => cursorOf(`/v1/devices/${SN.A}/commands`)],
    ["the attendance cursor", `/v1/devices/${SN.A}/commands`, () => cursorOf(attendance(SN.A))],
    [
      "an earlier window's cursor",
      withQuery(attendance(SN.A), { from: "2026-11-23", to: "2026-11-23" }),
      () => cursorOf(withQuery(attendance(SN.A), { from: "2026-11-21", to: "2026-11-21" })),
    ],
    [
      "its own cursor moved to another device",
      dayWindow,
      async () => tamper(await cursorOf(dayWindow), (k) => ({ ...k, pk: { S: `DEVICE#${SN.B}` } })),
    ],
    [
      "its own cursor moved outside the window",
      dayWindow,
      async () => tamper(await cursorOf(dayWindow), (k) => ({ ...k, sk: { S: sk(PUNCHES.a5) } })),
    ],
    [
      "its own cursor moved onto a command",
      attendance(SN.A),
      async () => tamper(await cursorOf(attendance(SN.A)), (k) => ({ ...k, sk: { S: "CMD#cmd-a1" } })),
    ],
    [
      "its own cursor with an empty sort key",
      attendance(SN.A),
      async () => tamper(await cursorOf(attendance(SN.A)), (k) => ({ ...k, sk: { S: "" } })),
    ],
    [
      // No key holds one (keys are UTF-8), and DynamoDB Local took it as a start key: 200 before.
      "its own cursor with a lone surrogate in its sort key",
      dayWindow,
      async () =>
        tamper(await cursorOf(dayWindow), (k) => ({ ...k, sk: { S: "ATT#2026-11-22T10:00:00.000\uD800" } })),
    ],
    [
      "its own cursor with a sort key of two types",
      attendance(SN.A),
      async () =>
        tamper(await cursorOf(attendance(SN.A)), (k) => ({ ...k, sk: { S: sk(PUNCHES.a1), N: "1" } })),
    ],
    [
      "its own cursor moved to another user",
      userAttendance("1001"),
      async () =>
        tamper(await cursorOf(userAttendance("1001")), (k) => ({ ...k, gsi1pk: { S: "USER#1002" } })),
    ],
    [
      "its own cursor with an empty index sort key",
      userAttendance("1001"),
      async () => tamper(await cursorOf(userAttendance("1001")), (k) => ({ ...k, gsi1sk: { S: "" } })),
    ],
    [
      "its own cursor moved to a device that is not in the list",
      "/v1/devices",
      async () =>
        tamper(await cursorOf("/v1/devices"), (k) => ({
          ...k,
          pk: { S: "DEVICE#elsewhere" },
          gsi1sk: { S: SN.B },
        })),
    ],
    [
      "its own cursor moved to another device",
      `/v1/devices/${SN.A}/commands`,
      async () =>
        tamper(await cursorOf(`/v1/devices/${SN.A}/commands`), (k) => ({
          ...k,
          pk: { S: `DEVICE#${SN.X}` },
        })),
    ],
  ])("refuses %s on %s with 400 naming cursor", async (_name, path, make) => {
    await expectCursorRefused(path, await make());
  });

  it("accepts a cursor taken apart and put back unchanged (so the refusals above are the edits' doing)", async () => {
    for (const path of [dayWindow, userAttendance("1001"), "/v1/devices", `/v1/devices/${SN.A}/commands`]) {
      const cursor = tamper(await cursorOf(path), (k) => k);
      const answer = await get(withQuery(path, { cursor }));
      expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).toBe(200);
    }
  });

  it("refuses a quarantine cursor with an empty sort key with 400 naming cursor", async () => {
    const path = `/v1/quarantine?day=${fleet.quarantined.days.at(-1)}`;
    await expectCursorRefused(
      path,
      tamper(await cursorOf(path), (k) => ({ ...k, sk: { S: "" } })),
    );
  });

  it("refuses a replay's own cursor with an empty sort key, replaying nothing", async () => {
    const window = { from: "2026-11-21", to: "2026-11-23" };
    const first = await replay({ ...window, pageSize: 1 });
    expect(first.status).toBe(200);
    await env.drainEvents();
    const cursor = tamper(first.body.cursor as string, (k) => ({ ...k, sk: { S: "" } }));
    expectProblem(await replay({ ...window, cursor }), 400, "cursor");
    expectProblem(await replay({ ...window, sn: SN.A, cursor }), 400, "cursor");
    // Nor does a whole-table replay's cursor continue another window's replay.
    expectProblem(
      await replay({ from: "2026-11-22", to: "2026-11-22", cursor: first.body.cursor }),
      400,
      "cursor",
    );
    expect(await drainAttendance()).toEqual([]);
  });
});
