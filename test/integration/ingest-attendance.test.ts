import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishBody } from "../support/emqx-bodies.ts";
import { SECOND_TOKEN, startIngest } from "../support/ingest-server.ts";
import { expectNothingShown, type ReadApi, startReadApi } from "../support/read-api.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

let env: TestResources;
let ingest: Awaited<ReturnType<typeof startIngest>>;
let api: ReadApi;

beforeAll(async () => {
  env = await createTestResources();
  ingest = await startIngest(env.deps);
  api = await startReadApi(env);
});
afterAll(async () => {
  await ingest.stop();
  await api.stop();
  env.destroy();
});

const punch = (userId: string, attTime = "2026-11-22T08:01:02+08:00", attState = 0) => ({
  user_id: userId,
  att_time: attTime,
  att_state: attState,
  verify_mode: "fp",
});
/** The device's punches, as `GET /v1/devices/{sn}/attendance` reads them. */
const punches = (sn: string) => userReads(env).attendance(sn);

describe("attendance over the EMQX rule endpoint", () => {
  it("stores a punch once, keeps extra fields, and fans it out with a stable eventId", async () => {
    const body = publishBody("api/mqtt/v1/SN-A1/evt", JSON.stringify(punch("1001")));
    const first = await ingest.post(body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ result: "attendance", stored: 1, duplicates: 0 });

    const items = await punches("SN-A1");
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      userId: "1001",
      attTime: "2026-11-22T08:01:02+08:00",
      attTimeNormalized: "2026-11-22T00:01:02.000Z",
      attState: 0,
      extra: { verify_mode: "fp" },
      transport: "mqtt",
      emqxId: body.id,
    });
    const events = await env.drainEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "attendance",
      sn: "SN-A1",
      eventId: items[0]?.eventId,
      data: { user_id: "1001", att_state: 0, verify_mode: "fp" },
    });
  });

  it("gives one record and one SQS message for an EMQX retry (same id) and a device resend (new id)", async () => {
    const payload = JSON.stringify(punch("2002", "2026-11-22 09:00:00", 1));
    const original = publishBody("api/mqtt/v1/SN-A2/evt", payload);
    const answers = await Promise.all([
      ingest.post(original),
      ingest.post(original),
      ingest.post(publishBody("api/mqtt/v1/SN-A2/evt", payload)),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.reduce((n, a) => n + (a.body.stored as number), 0)).toBe(1);
    expect(await punches("SN-A2")).toHaveLength(1);
    const events = await env.drainEvents();
    expect(events.filter((e) => e.sn === "SN-A2")).toHaveLength(1);
  });

  it("accepts a numeric user_id as its decimal string and an offline backlog array", async () => {
    const backlog = [punch("3003", "2026-11-21 17:00:00", 1), { ...punch("x"), user_id: 3004 }];
    const answer = await ingest.post(publishBody("api/mqtt/v1/SN-A3/evt", JSON.stringify(backlog)));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ stored: 2 });
    const items = await punches("SN-A3");
    expect(items.map((i) => i.userId).sort()).toEqual(["3003", "3004"]);
    expect(await env.drainEvents()).toHaveLength(2);
  });

  it("stores the good punches of a backlog and quarantines the bad one with a 422 naming it", async () => {
    const backlog = [punch("4001"), { ...punch("4002"), att_time: "yesterday" }];
    const answer = await ingest.post(publishBody("api/mqtt/v1/SN-A4/evt", JSON.stringify(backlog)));
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ field: "payload[1].att_time", stored: 1 });
    expect(await punches("SN-A4")).toHaveLength(1);
    const day = new Date().toISOString().slice(0, 10);
    const rejected = await userReads(env).quarantined(day);
    expect(rejected.find((r) => r.id === answer.body.quarantineId)).toMatchObject({
      field: "payload[1].att_time",
      sn: "SN-A4",
      reason: "invalid_attendance_record",
    });
    await env.drainEvents();
  });

  it("accepts any of the configured tokens, so a token can be rotated", async () => {
    const answer = await ingest.post(
      publishBody("api/mqtt/v1/SN-A5/evt", JSON.stringify(punch("5001"))),
      SECOND_TOKEN,
    );
    expect(answer.status).toBe(200);
    await env.drainEvents();
  });

  it("refuses a request without a token or with a wrong one, and stores nothing", async () => {
    const body = publishBody("api/mqtt/v1/SN-A6/evt", JSON.stringify(punch("6001")));
    expect((await ingest.post(body, "")).status).toBe(401);
    const wrong = await ingest.post(body, "not-the-token-at-all-000000");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("content-type")).toContain("application/problem+json");
    await expectNothingShown(api, "SN-A6");
  });

  it("stores a punch repeated inside one backlog once, at once, with one message", async () => {
    const backlog = [punch("7001"), punch("7001"), punch("7002"), punch("7001")];
    const answer = await ingest.post(publishBody("api/mqtt/v1/SN-A7/evt", JSON.stringify(backlog)));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ stored: 2, duplicates: 2 });
    expect((await env.drainEvents()).filter((e) => e.sn === "SN-A7")).toHaveLength(2);
  });
});
