import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import { createIngestApp } from "../../functions/ingest/app.ts";
import { serveApp } from "../../local/services/http-server.ts";
import { DEVICE_SECRET, deviceToken, startIngest, TOKEN } from "../support/ingest-server.ts";
import { eventually } from "../support/local-stack.ts";
import { createTestResources, silentLogger, type TestResources } from "../support/resources.ts";

let env: TestResources;
let ingest: Awaited<ReturnType<typeof startIngest>>;

beforeAll(async () => {
  env = await createTestResources();
  ingest = await startIngest(env.deps);
});
afterAll(async () => {
  await ingest.stop();
  env.destroy();
});

/** What an HTTP device does to fetch its next command. */
async function poll(sn: string, query = "", token = deviceToken(sn)) {
  const response = await fetch(`${ingest.url}/v1/devices/${sn}/commands/next${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> | undefined,
  };
}

const statusEvents = async (sn: string) =>
  (await env.drainEvents())
    .filter((e) => e.sn === sn && e.type === "command_status")
    .map((e) => `${e.data.id}:${e.data.status}`);

describe("HTTP devices fetch their commands", () => {
  it("hands a pending command over once as the MQTT envelope, marks it delivered, then takes the ack", async () => {
    const sn = "SN-HC1";
    await createCommand(env.deps, sn, { id: "c1", op: "sync_user", data: { user_id: "1001" } });
    // What the publisher leaves when EMQX has no subscriber for the device (no_matching_subscribers).
    await env.deps.commands.transition(sn, "c1", "pending", new Date().toISOString(), {
      reason: "no_matching_subscribers",
    });
    await env.drainEvents();

    const first = await poll(sn, "?wait=0");
    expect(first).toEqual({ status: 200, body: { id: "c1", op: "sync_user", data: { user_id: "1001" } } });
    expect(await env.deps.commands.get(sn, "c1")).toMatchObject({ status: "delivered" });
    expect(await statusEvents(sn)).toEqual(["c1:delivered"]);
    expect((await poll(sn)).status).toBe(204);

    const ack = await ingest.postDevice(sn, "ack", { id: "c1", ok: true, result: { users: 1 } });
    expect(ack.body).toMatchObject({ result: "command", id: "c1", status: "acked", changed: true });
    expect(await env.deps.commands.get(sn, "c1")).toMatchObject({ status: "acked", result: { users: 1 } });
  });

  it("hands commands over oldest first, queued ones too", async () => {
    const sn = "SN-HC2";
    for (const id of ["o1", "o2", "o3"]) await createCommand(env.deps, sn, { id, op: "ping" });
    await env.deps.commands.transition(sn, "o1", "pending", new Date().toISOString());
    const taken = [];
    for (let i = 0; i < 3; i++) taken.push((await poll(sn)).body?.id);
    expect(taken).toEqual(["o1", "o2", "o3"]);
    expect((await poll(sn)).status).toBe(204);
  });

  it("answers 204 at once when there is nothing", async () => {
    const answer = await poll("SN-HC3", "?wait=0");
    expect(answer).toEqual({ status: 204, body: undefined });
  });

  it("returns from a long poll as soon as a command is created during the wait", async () => {
    const sn = "SN-HC4";
    const started = performance.now();
    const waiting = poll(sn, "?wait=20");
    setTimeout(() => void createCommand(env.deps, sn, { id: "late", op: "reboot" }), 500);
    const answer = await waiting;
    expect(answer).toEqual({ status: 200, body: { id: "late", op: "reboot", data: {} } });
    expect(performance.now() - started).toBeLessThan(15_000); // well before the 20 s wait ran out
    expect(await env.deps.commands.get(sn, "late")).toMatchObject({ status: "delivered" });
  });

  it("refuses another device's token with 401 and hands nothing over", async () => {
    const sn = "SN-HC5";
    await createCommand(env.deps, sn, { id: "mine", op: "ping" });
    const answer = await poll(sn, "", deviceToken("SN-HC5-OTHER"));
    expect(answer.status).toBe(401);
    expect(await env.deps.commands.get(sn, "mine")).toMatchObject({ status: "queued" });
  });

  it.each(["abc", "21", "-1", "1.5", "", "100"])("answers 400 naming `wait` for wait=%j", async (wait) => {
    const answer = await poll("SN-HC6", `?wait=${wait}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: 400, field: "wait" });
  });

  it("never hands over an expired command: it ends expired, announced, and the next one comes", async () => {
    const sn = "SN-HC7";
    const past = new Date(Date.now() - 120_000);
    const before = { ...env.deps, clock: { now: () => past } };
    await createCommand(before, sn, { id: "stale", op: "ping", ttlSeconds: 60 });
    await createCommand(env.deps, sn, { id: "fresh", op: "ping" });
    await env.drainEvents();

    expect((await poll(sn)).body).toMatchObject({ id: "fresh" });
    expect(await env.deps.commands.get(sn, "stale")).toMatchObject({
      status: "expired",
      reason: "its TTL passed before it could be delivered",
    });
    expect((await statusEvents(sn)).sort()).toEqual(["fresh:delivered", "stale:expired"]);
  });

  it("lets only one of two simultaneous polls take a command", async () => {
    const sn = "SN-HC8";
    await createCommand(env.deps, sn, { id: "once", op: "ping" });
    const answers = await Promise.all([poll(sn, "?wait=0"), poll(sn, "?wait=0")]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 204]);
  });

  it("stops waiting when the device hangs up, so a command created afterwards is not taken for nobody", async () => {
    const sn = "SN-HC9";
    // The ingest served so that the test knows when a request's handler has finished.
    const app = createIngestApp(env.deps, {
      tokens: [TOKEN],
      deviceTokenSecrets: [DEVICE_SECRET],
      deadlineMs: 8_000,
      maxBodyBytes: 256 * 1024,
      logger: silentLogger(),
    });
    let handled = 0;
    const server = await serveApp(async (request) => {
      try {
        return await app.fetch(request);
      } finally {
        handled++;
      }
    });
    try {
      const hangUp = new AbortController();
      const started = performance.now();
      const waiting = fetch(`${server.url}/v1/devices/${sn}/commands/next?wait=20`, {
        headers: { authorization: `Bearer ${deviceToken(sn)}` },
        signal: hangUp.signal,
      }).catch(() => "hung up");
      setTimeout(() => hangUp.abort(), 300);
      expect(await waiting).toBe("hung up");
      await eventually(async () => (handled === 1 ? true : undefined), 15_000);
      expect(performance.now() - started).toBeLessThan(15_000); // not the full 20 s wait

      await createCommand(env.deps, sn, { id: "after", op: "ping" });
      expect(await env.deps.commands.get(sn, "after")).toMatchObject({ status: "queued" });
      expect((await poll(sn)).body).toMatchObject({ id: "after" });
    } finally {
      await server.stop();
    }
  });
});
