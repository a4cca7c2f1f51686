import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import type { StoredAttendance } from "../../functions/core/ports.ts";
import { publishBody } from "../support/emqx-bodies.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import {
  type Answer,
  DEVICE_SECRET,
  deviceToken,
  SECOND_DEVICE_SECRET,
  startIngest,
  TOKEN,
} from "../support/ingest-server.ts";
import { FakeClock } from "../support/memory/index.ts";
import { expectNothingShown, type ReadApi, startReadApi } from "../support/read-api.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

let env: TestResources;
let ingest: Awaited<ReturnType<typeof startIngest>>;
let api: ReadApi;

beforeAll(async () => {
  env = await createTestResources();
  ingest = await startIngest(env.deps, { maxBodyBytes: 16 * 1024 });
  api = await startReadApi(env);
});
afterAll(async () => {
  await ingest.stop();
  await api.stop();
  env.destroy();
});

const punch = (userId: string, attTime = "2026-11-22T08:01:02+08:00", attState = 0) =>
  JSON.stringify({ user_id: userId, att_time: attTime, att_state: attState, verify_mode: "fp" });
const mqttPunch = (sn: string, payload: string) => publishBody(`api/mqtt/v1/${sn}/evt`, payload);
const today = () => new Date().toISOString().slice(0, 10);
/** The device's punches, as `GET /v1/devices/{sn}/attendance` reads them. */
const punches = (sn: string): Promise<StoredAttendance[]> => userReads(env).attendance(sn);
/** The rejection an answer names, as `GET /v1/quarantine` lists it. */
const quarantined = async (answer: Answer) =>
  (await userReads(env).quarantined(today())).find((r) => r.id === answer.body.quarantineId);
/** Takes every message off the events queue and keeps this device's (one call per test: the rest are gone). */
const eventsOf = async (sn: string) => (await env.drainEvents()).filter((e) => e.sn === sn);

describe("attendance from HTTP devices", () => {
  it("stores a punch with transport http and fans it out in the same shape as an MQTT one", async () => {
    const answer = await ingest.postDevice("SN-H1", "evt", punch("1001"));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      result: "attendance",
      sn: "SN-H1",
      stored: 1,
      duplicates: 0,
      rejected: [],
    });
    const [stored] = await punches("SN-H1");
    expect(stored).toMatchObject({
      userId: "1001",
      attTimeNormalized: "2026-11-22T00:01:02.000Z",
      extra: { verify_mode: "fp" },
      transport: "http",
    });
    expect(stored?.emqxId).toBeUndefined();

    await ingest.post(mqttPunch("SN-H1M", punch("1001")));
    const events = await env.drainEvents();
    const overHttp = events.find((e) => e.sn === "SN-H1");
    const overMqtt = events.find((e) => e.sn === "SN-H1M");
    expect(overHttp).toMatchObject({
      type: "attendance",
      eventId: stored?.eventId,
      at: stored?.attTimeNormalized,
    });
    expect(overHttp?.data).toMatchObject({
      user_id: "1001",
      att_state: 0,
      verify_mode: "fp",
      transport: "http",
    });
    expect(overMqtt?.data.transport).toBe("mqtt");
    expect(Object.keys(overHttp ?? {}).sort()).toEqual(Object.keys(overMqtt ?? {}).sort());
    expect(Object.keys(overHttp?.data ?? {}).sort()).toEqual(Object.keys(overMqtt?.data ?? {}).sort());
  });

  it.each([
    ["HTTP first, then MQTT", "SN-H2", ["http", "mqtt"]],
    ["MQTT first, then HTTP", "SN-H3", ["mqtt", "http"]],
  ] as const)("gives one record and one SQS message for the same punch: %s", async (_, sn, order) => {
    const payload = punch("2002", "2026-11-22 09:00:00", 1);
    const send = (transport: "http" | "mqtt") =>
      transport === "http" ? ingest.postDevice(sn, "evt", payload) : ingest.post(mqttPunch(sn, payload));
    const first = await send(order[0]);
    const second = await send(order[1]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.body).toMatchObject({ stored: 1, duplicates: 0 });
    expect(second.body).toMatchObject({ stored: 0, duplicates: 1 });
    const records = await punches(sn);
    expect(records).toHaveLength(1);
    expect(records[0]?.transport).toBe(order[0]);
    const events = await eventsOf(sn);
    expect(events).toHaveLength(1);
    expect(events[0]?.eventId).toBe(records[0]?.eventId);
  });

  it("gives one record and one SQS message when both transports race, with HTTP retries", async () => {
    const payload = punch("2003", "2026-11-22 09:05:00", 0);
    const answers = await Promise.all([
      ingest.postDevice("SN-H4", "evt", payload),
      ingest.post(mqttPunch("SN-H4", payload)),
      ingest.postDevice("SN-H4", "evt", payload),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.reduce((n, a) => n + (a.body.stored as number), 0)).toBe(1);
    expect(await punches("SN-H4")).toHaveLength(1);
    expect(await eventsOf("SN-H4")).toHaveLength(1);
  });

  it("stores an offline backlog posted as an array", async () => {
    const backlog = `[${punch("3001", "2026-11-21 17:00:00", 1)},${punch("3002", "2026-11-21 17:01:00", 1)}]`;
    const answer = await ingest.postDevice("SN-H5", "evt", backlog);
    expect(answer.body).toMatchObject({ stored: 2, duplicates: 0 });
    expect(await eventsOf("SN-H5")).toHaveLength(2);
  });
});

describe("presence and commands from HTTP devices", () => {
  it("updates presence on st and queues the device's pending commands again, like MQTT", async () => {
    // The ingest runs on a fake clock, so each report's time (the `since` users see) is known, and the
    // `offline` comes a second after the `online`, as a device's would, without waiting for real time.
    const clock = new FakeClock(Date.now());
    const clocked = await startIngest({ ...env.deps, clock });
    try {
      for (const id of ["p1", "p2"]) {
        await createCommand(env.deps, "SN-H6", { op: "ping", id });
        // As the publisher does for a device it found offline: marked before one becomes pending.
        await env.deps.commands.markWaiting("SN-H6", new Date().toISOString());
        await env.deps.commands.transition("SN-H6", id, "pending", new Date().toISOString());
      }
      expect(await env.takeCommandMessages("SN-H6")).toHaveLength(2); // the first enqueue of each
      await env.drainEvents();

      const online = await clocked.postDevice("SN-H6", "st", '{"online":true}');
      expect(online.status).toBe(200);
      expect(online.body).toMatchObject({ result: "presence", sn: "SN-H6", online: true });
      expect(await userReads(env).device("SN-H6")).toMatchObject({ online: true, since: clock.iso() });
      const requeued = await env.takeCommandMessages("SN-H6");
      expect(requeued.map((m) => JSON.parse(m.Body ?? "{}").id)).toEqual(["p1", "p2"]);
      const presence = (await eventsOf("SN-H6")).filter((e) => e.type === "presence");
      expect(presence).toHaveLength(1);
      expect(presence[0]?.data).toMatchObject({ online: true });

      clock.advance(1_000);
      expect((await clocked.postDevice("SN-H6", "st", '{"online":false}')).body).toMatchObject({
        online: false,
      });
      expect(await userReads(env).device("SN-H6")).toMatchObject({ online: false, since: clock.iso() });
      await env.drainEvents();
    } finally {
      await clocked.stop();
    }
  });

  it("moves a command to acked on the device's answer, and to failed with its error", async () => {
    for (const id of ["a1", "a2"]) {
      await createCommand(env.deps, "SN-H7", { op: "sync_user", data: { user: "1001" }, id });
      await env.deps.commands.transition("SN-H7", id, "sent", new Date().toISOString(), {
        messageId: "A".repeat(32),
      });
    }
    const ok = await ingest.postDevice("SN-H7", "ack", { id: "a1", ok: true, result: { users: 1 } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ result: "command", id: "a1", status: "acked", changed: true });
    expect(await env.deps.commands.get("SN-H7", "a1")).toMatchObject({
      status: "acked",
      result: { users: 1 },
    });
    await ingest.postDevice("SN-H7", "ack", { id: "a2", ok: false, error: "unknown op" });
    expect(await env.deps.commands.get("SN-H7", "a2")).toMatchObject({
      status: "failed",
      reason: "unknown op",
    });
    const statuses = (await eventsOf("SN-H7")).filter((e) => e.type === "command_status");
    expect(statuses.map((e) => `${e.data.id}:${e.data.status}`)).toEqual(
      expect.arrayContaining(["a1:acked", "a2:failed"]),
    );
  });
});

describe("bad input from HTTP devices", () => {
  const cases: Array<{ name: string; channel: string; body: string; status: number; field: string }> = [
    { name: "a body that is not JSON", channel: "evt", body: "user 1001 in", status: 400, field: "payload" },
    { name: "an empty body", channel: "evt", body: "", status: 400, field: "payload" },
    {
      name: "a missing att_time",
      channel: "evt",
      body: JSON.stringify({ user_id: "1", att_state: 0 }),
      status: 422,
      field: "payload.att_time",
    },
    {
      name: "an impossible date",
      channel: "evt",
      body: JSON.stringify({ user_id: "1", att_time: "2026-02-30 08:00:00", att_state: 0 }),
      status: 422,
      field: "payload.att_time",
    },
    { name: "an st without online", channel: "st", body: "{}", status: 422, field: "payload.online" },
    { name: "an ack without id", channel: "ack", body: '{"ok":true}', status: 422, field: "payload.id" },
    {
      name: "an oversized body",
      channel: "evt",
      body: JSON.stringify({ pad: "x".repeat(20_000) }),
      status: 413,
      field: "body",
    },
  ];

  it.each(cases)("answers $status naming '$field' for $name, quarantined as http", async (c) => {
    const answer = await ingest.postDevice("SN-HB", c.channel, c.body);
    expect(answer.status).toBe(c.status);
    expect(answer.headers.get("content-type")).toContain("application/problem+json");
    expect(answer.body.field).toBe(c.field);
    expect(String(answer.body.detail)).toContain(c.field.split(".").at(-1));
    const kept = await quarantined(answer);
    expect(kept).toMatchObject({ transport: "http", sn: "SN-HB", status: c.status, field: c.field });
    expect(kept?.emqxId).toBeUndefined();
    expect(kept?.raw).toBe(c.body.slice(0, 32 * 1024));
  });

  it("stores the good punches of a backlog and quarantines the bad one as http", async () => {
    const backlog = `[${punch("4001")},${JSON.stringify({ user_id: "4002", att_time: "yesterday", att_state: 0 })}]`;
    const answer = await ingest.postDevice("SN-HB2", "evt", backlog);
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ field: "payload[1].att_time", stored: 1 });
    expect(await quarantined(answer)).toMatchObject({ transport: "http", sn: "SN-HB2" });
    expect(await eventsOf("SN-HB2")).toHaveLength(1);
  });

  it("answers 400 naming sn for a serial number that could inject topic levels, before any token check, and keeps nothing of a request nobody authenticated", async () => {
    const probe = punch("bad-sn-probe");
    for (const sn of ["a%2Fb", "a+b", "%23", "a%20b", "x".repeat(65)]) {
      const answer = await ingest.postDevice(sn, "evt", probe, "");
      expect(answer.status, sn).toBe(400);
      expect(answer.body).toMatchObject({ field: "sn", status: 400, type: "invalid_request" });
      expect(answer.body.quarantineId, sn).toBeUndefined();
    }
    const kept = (await userReads(env).quarantined(today())).filter((entry) => entry.raw === probe);
    expect(kept).toEqual([]);
  });

  it("stores nothing and sends nothing for rejected input", async () => {
    expect(await punches("SN-HB")).toHaveLength(0);
    expect(await eventsOf("SN-HB")).toHaveLength(0);
  });

  it("answers 404 for a channel devices do not post to", async () => {
    for (const channel of ["cmd", "other"]) {
      expect((await ingest.postDevice("SN-HB", channel, "{}")).status).toBe(404);
    }
  });
});

describe("device authentication", () => {
  const evt = (sn: string, token: string) => ingest.postDevice(sn, "evt", punch("9001"), token);

  it("refuses a request without a token, and stores nothing", async () => {
    const answer = await evt("SN-HA1", "");
    expect(answer.status).toBe(401);
    expect(answer.headers.get("content-type")).toContain("application/problem+json");
    expect(answer.headers.get("www-authenticate")).toContain("Bearer");
    await expectNothingShown(api, "SN-HA1");
  });

  it("refuses the token of another device, and tokens that are not tokens", async () => {
    expect((await evt("SN-HA2", deviceToken("SN-HA3"))).status).toBe(401);
    expect((await evt("SN-HA2", deviceToken("SN-HA2").slice(0, 42))).status).toBe(401);
    expect((await evt("SN-HA2", `${deviceToken("SN-HA2")}A`)).status).toBe(401);
    expect((await evt("SN-HA2", "A".repeat(43))).status).toBe(401);
    await expectNothingShown(api, "SN-HA2");
  });

  it("accepts a token derived from either active secret", async () => {
    expect((await evt("SN-HA4", deviceToken("SN-HA4", DEVICE_SECRET))).status).toBe(200);
    expect((await evt("SN-HA5", deviceToken("SN-HA5", SECOND_DEVICE_SECRET))).status).toBe(200);
    await env.drainEvents();
  });

  it("refuses tokens of a secret once it is rotated out", async () => {
    const rotated = await startIngest(env.deps, { deviceTokenSecrets: [SECOND_DEVICE_SECRET] });
    try {
      const old = await rotated.postDevice(
        "SN-HA6",
        "evt",
        punch("9002"),
        deviceToken("SN-HA6", DEVICE_SECRET),
      );
      expect(old.status).toBe(401);
      const current = deviceToken("SN-HA6", SECOND_DEVICE_SECRET);
      expect((await rotated.postDevice("SN-HA6", "evt", punch("9002"), current)).status).toBe(200);
    } finally {
      await rotated.stop();
    }
    await env.drainEvents();
  });

  it("keeps EMQX's tokens and device tokens apart", async () => {
    expect((await evt("SN-HA7", TOKEN)).status).toBe(401);
    const onEmqx = await ingest.post(mqttPunch("SN-HA7", punch("9003")), deviceToken("SN-HA7"));
    expect(onEmqx.status).toBe(401);
    await expectNothingShown(api, "SN-HA7");
  });
});

describe("HTTP devices disabled", () => {
  it("answers 404 on the device routes when no secret is configured; EMQX's route still works", async () => {
    const disabled = await startIngest(env.deps, { deviceTokenSecrets: [] });
    try {
      for (const token of [deviceToken("SN-HD1"), "", TOKEN]) {
        const answer = await disabled.postDevice("SN-HD1", "evt", punch("1"), token);
        expect(answer.status).toBe(404);
        expect(answer.body).toMatchObject({ status: 404, detail: "HTTP devices are not enabled" });
      }
      expect((await disabled.post(mqttPunch("SN-HD1", punch("1")))).status).toBe(200);
    } finally {
      await disabled.stop();
    }
    await env.drainEvents();
  });
});

describe("HTTP devices during an outage", () => {
  it("answers 503 with Retry-After before the deadline, then stores the retried punch once", async () => {
    const proxy = await startFaultProxy(env.dynamodbEndpoint);
    const deps = createAwsDeps({ ...env.config, DYNAMODB_ENDPOINT: proxy.url });
    const flaky = await startIngest(deps, { deadlineMs: 1_500 });
    try {
      proxy.set("hang");
      const during = await flaky.postDevice("SN-HO1", "evt", punch("7001"));
      expect(during.status).toBe(503);
      expect(during.headers.get("retry-after")).toBe("5");
      // The ingest's own deadline answered, not the SDK's slower timeouts: no stopwatch needed.
      expect(during.body.detail).toMatch(/within the 1500 ms internal deadline/);
      proxy.set("refuse");
      expect((await flaky.postDevice("SN-HO1", "evt", "not json")).status).toBe(503); // cannot quarantine
      proxy.set("up");
      const after = await flaky.postDevice("SN-HO1", "evt", punch("7001"));
      expect(after.status).toBe(200);
      expect(await punches("SN-HO1")).toHaveLength(1);
      expect(await eventsOf("SN-HO1")).toHaveLength(1);
    } finally {
      await flaky.stop();
      await proxy.stop();
    }
  });
});
