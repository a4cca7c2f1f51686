import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectedBody, disconnectedBody, publishBody } from "../support/emqx-bodies.ts";
import { startIngest } from "../support/ingest-server.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

let env: TestResources;
let ingest: Awaited<ReturnType<typeof startIngest>>;

beforeAll(async () => {
  env = await createTestResources();
  ingest = await startIngest(env.deps, { maxBodyBytes: 16 * 1024 });
});
afterAll(async () => {
  await ingest.stop();
  env.destroy();
});

const evt = (payload: string) => publishBody("api/mqtt/v1/SN-B1/evt", payload);

const cases: Array<{ name: string; body: unknown; status: number; field: string }> = [
  { name: "a body that is not JSON", body: "{not json", status: 400, field: "body" },
  {
    name: "a body without payload",
    body: { ...evt("{}"), payload: undefined },
    status: 400,
    field: "payload",
  },
  { name: "an unknown event", body: { ...evt("{}"), event: "session.created" }, status: 400, field: "event" },
  { name: "a payload that is not JSON", body: evt("user 1001 in"), status: 400, field: "payload" },
  {
    name: "a binary payload (EMQX turns bad bytes into U+FFFD)",
    body: evt("\uFFFD\uFFFD\u0000\uFFFD"),
    status: 400,
    field: "payload",
  },
  {
    name: "a missing att_time",
    body: evt(JSON.stringify({ user_id: "1", att_state: 0 })),
    status: 422,
    field: "payload.att_time",
  },
  {
    name: "a wrong type for att_state",
    body: evt(JSON.stringify({ user_id: "1", att_time: "2026-11-22 08:00:00", att_state: true })),
    status: 422,
    field: "payload.att_state",
  },
  {
    name: "an impossible date",
    body: evt(JSON.stringify({ user_id: "1", att_time: "2026-02-30 08:00:00", att_state: 0 })),
    status: 422,
    field: "payload.att_time",
  },
  {
    name: "a user_id that would break keys",
    body: evt(JSON.stringify({ user_id: "a#b", att_time: "2026-11-22 08:00:00", att_state: 0 })),
    status: 422,
    field: "payload.user_id",
  },
  {
    name: "a topic that is not a device topic",
    body: publishBody("devices/x/up", "{}", { clientid: "x" }),
    status: 422,
    field: "topic",
  },
  {
    name: "an st payload without online",
    body: publishBody("api/mqtt/v1/SN-B1/st", "{}"),
    status: 422,
    field: "payload.online",
  },
  { name: "a body that is a number", body: "1", status: 400, field: "body" },
  { name: "a body that is a string", body: '"x"', status: 400, field: "body" },
  { name: "a body that is null", body: "null", status: 400, field: "body" },
  {
    name: "a connected_at far in the future",
    body: connectedBody("SN-B1", 1e300),
    status: 400,
    field: "connected_at",
  },
  {
    name: "a negative connected_at on a disconnect",
    body: disconnectedBody("SN-B1", -1e20, 1_000, "normal"),
    status: 400,
    field: "connected_at",
  },
  {
    name: "a publish_received_at far in the future",
    body: { ...evt("{}"), publish_received_at: 1e300 },
    status: 400,
    field: "publish_received_at",
  },
  {
    name: "a timestamp far in the future",
    body: { ...evt("{}"), timestamp: 1e300 },
    status: 400,
    field: "timestamp",
  },
  {
    name: "a lone surrogate in a disconnect reason",
    body: disconnectedBody("SN-B1", 1_000, 2_000, "gone\uDC00"),
    status: 400,
    field: "reason",
  },
  {
    name: "an att_time offset of +99:99",
    body: evt(JSON.stringify({ user_id: "1", att_time: "2026-11-22T08:00:00+99:99", att_state: 0 })),
    status: 422,
    field: "payload.att_time",
  },
  {
    name: "an att_time offset of -2400",
    body: evt(JSON.stringify({ user_id: "1", att_time: "2026-11-22T08:00:00-2400", att_state: 0 })),
    status: 422,
    field: "payload.att_time",
  },
  {
    name: "a user_id with a lone surrogate",
    body: evt(JSON.stringify({ user_id: "u\uD800", att_time: "2026-11-22 08:00:00", att_state: 0 })),
    status: 422,
    field: "payload.user_id",
  },
  {
    name: "an oversized body",
    body: evt(JSON.stringify({ pad: "x".repeat(20_000) })),
    status: 413,
    field: "body",
  },
];

describe("bad input", () => {
  it.each(cases)("answers $status naming '$field' for $name, and keeps it in the quarantine", async (c) => {
    const answer = await ingest.post(c.body);
    expect(answer.status).toBe(c.status);
    expect(answer.headers.get("content-type")).toContain("application/problem+json");
    expect(answer.body.field).toBe(c.field);
    expect(String(answer.body.detail)).toContain(c.field.split(".").at(-1));
    const day = new Date().toISOString().slice(0, 10);
    const kept = (await userReads(env).quarantined(day)).find((r) => r.id === answer.body.quarantineId);
    expect(kept).toMatchObject({ status: c.status, field: c.field });
    expect(String(kept?.raw).length).toBeGreaterThan(0);
  });

  it("stores nothing and sends nothing for rejected input", async () => {
    expect(await userReads(env).attendance("SN-B1")).toHaveLength(0);
    expect(await env.drainEvents()).toHaveLength(0);
  });

  it("truncates what it keeps of an oversized body but records its size", async () => {
    const answer = await ingest.post(evt(JSON.stringify({ pad: "y".repeat(60_000) })));
    const day = new Date().toISOString().slice(0, 10);
    const kept = (await userReads(env).quarantined(day)).find((r) => r.id === answer.body.quarantineId);
    expect(kept).toMatchObject({ truncated: true });
    expect(kept?.rawBytes as number).toBeGreaterThan(60_000);
    expect(String(kept?.raw).length).toBeLessThanOrEqual(32 * 1024);
  });

  it("refuses a record with a number too large to store, naming it, and stores the good ones (never a 503)", async () => {
    const good = { user_id: "1", att_time: "2026-11-22 08:00:00", att_state: 0 };
    const backlog = [good, { ...good, user_id: "2", card_no: 0 }, { ...good, user_id: "3" }];
    // As a terminal writes it: a 20-digit card number as a JSON number.
    const payload = JSON.stringify(backlog).replace('"card_no":0', '"card_no":12345678901234567890');
    const answer = await ingest.post(publishBody("api/mqtt/v1/SN-B9/evt", payload));
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ field: "payload[1].card_no", stored: 2 });
    expect(String(answer.body.detail)).toContain("numbers must be 0 or between 1E-130 and 9007199254740991");
    expect(await userReads(env).attendance("SN-B9")).toHaveLength(2);
    await env.drainEvents();
  });
});
