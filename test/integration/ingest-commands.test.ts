import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import { connectedBody, messageAckedBody, publishBody } from "../support/emqx-bodies.ts";
import { startIngest } from "../support/ingest-server.ts";
import { FakeClock } from "../support/memory/index.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";

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

async function sentCommand(sn: string, id: string, extra: { ttlSeconds?: number } = {}) {
  await createCommand(env.deps, sn, { op: "sync_user", data: { user: "1001" }, id, ...extra });
  await env.deps.commands.transition(sn, id, "sent", new Date().toISOString(), { messageId: "A".repeat(32) });
}

const statuses = async (sn: string) =>
  (await env.drainEvents())
    .filter((e) => e.type === "command_status" && e.sn === sn)
    .map((e) => e.data.status);

describe("command delivery tracking through the ingest", () => {
  it("moves a command to delivered on the device's PUBACK and to acked on its answer", async () => {
    await sentCommand("SN-K1", "c1");
    const envelope = { id: "c1", op: "sync_user", data: {} };
    const acked = await ingest.post(messageAckedBody("SN-K1", "c1", envelope));
    expect(acked.body).toMatchObject({ result: "command", id: "c1", status: "delivered", changed: true });
    const reply = publishBody(
      "api/mqtt/v1/SN-K1/ack",
      JSON.stringify({ id: "c1", ok: true, result: { users: 1 } }),
    );
    expect((await ingest.post(reply)).body).toMatchObject({ status: "acked", changed: true });
    expect(await env.deps.commands.get("SN-K1", "c1")).toMatchObject({
      status: "acked",
      result: { users: 1 },
    });
    // `sent` was set straight in the store above, so only the ingest's changes are announced here.
    expect(await statuses("SN-K1")).toEqual(["queued", "delivered", "acked"]);
  });

  it("never moves a status back: a late PUBACK or a repeated answer changes nothing", async () => {
    await sentCommand("SN-K2", "c2");
    await ingest.post(publishBody("api/mqtt/v1/SN-K2/ack", JSON.stringify({ id: "c2", ok: true })));
    const late = await ingest.post(messageAckedBody("SN-K2", "c2", { id: "c2", op: "sync_user" }));
    expect(late.body).toMatchObject({ status: "acked", changed: false });
    const again = await ingest.post(
      publishBody("api/mqtt/v1/SN-K2/ack", JSON.stringify({ id: "c2", ok: false })),
    );
    expect(again.body).toMatchObject({ status: "acked", changed: false });
    expect(await statuses("SN-K2")).toEqual(["queued", "acked"]);
  });

  it("records a device's failure with its error", async () => {
    await sentCommand("SN-K3", "c3");
    const reply = { id: "c3", ok: false, error: "unknown op 'frobnicate'" };
    await ingest.post(publishBody("api/mqtt/v1/SN-K3/ack", JSON.stringify(reply)));
    expect(await env.deps.commands.get("SN-K3", "c3")).toMatchObject({
      status: "failed",
      reason: "unknown op 'frobnicate'",
    });
    await env.drainEvents();
  });

  it("finds the command id in the envelope when the PUBACK event has no user property", async () => {
    await sentCommand("SN-K4", "c4");
    const body = {
      ...messageAckedBody("SN-K4", "c4", { id: "c4", op: "ping" }),
      pub_props: { "User-Property": {} },
    };
    expect((await ingest.post(body)).body).toMatchObject({ status: "delivered" });
    await env.drainEvents();
  });

  it("rejects an answer without an id, naming the field", async () => {
    const answer = await ingest.post(publishBody("api/mqtt/v1/SN-K5/ack", JSON.stringify({ ok: true })));
    expect(answer.status).toBe(422);
    expect(answer.body.field).toBe("payload.id");
  });
});

describe("pending commands when a device comes online", () => {
  it("queues them again in their original order, once per connection, and expires stale ones", async () => {
    // Created 2 s ago on the commands' clock: the 1 s TTL has passed when the device connects now.
    const deps = { ...env.deps, clock: new FakeClock(Date.now() - 2_000) };
    for (const [id, ttl] of [
      ["p1", undefined],
      ["p2", 1],
      ["p3", undefined],
    ] as const) {
      await createCommand(deps, "SN-K6", { op: "ping", id, ...(ttl ? { ttlSeconds: ttl } : {}) });
      // As the publisher does: the "commands may wait" mark before pending, and no hold mark, which the
      // publisher may lift after a listing on the (eventually consistent) index that missed a pending
      // command; so a connect must find them by the mark that only a settled listing lifts.
      await env.deps.commands.markWaiting("SN-K6", deps.clock.iso());
      await env.deps.commands.transition("SN-K6", id, "pending", deps.clock.iso());
    }
    // The first enqueue of each command is on the queue already; take those away.
    expect(await env.takeCommandMessages("SN-K6")).toHaveLength(3);
    const connect = connectedBody("SN-K6", Date.now());
    await ingest.post(connect);
    await ingest.post(connect); // EMQX retry of the same event
    const requeued = await env.takeCommandMessages("SN-K6");
    expect(requeued.map((m) => JSON.parse(m.Body ?? "{}").id)).toEqual(["p1", "p3"]);
    expect(requeued.every((m) => m.Attributes?.MessageGroupId === "SN-K6")).toBe(true);
    expect(await env.deps.commands.get("SN-K6", "p2")).toMatchObject({ status: "expired" });
    await env.drainEvents();
  });
});
