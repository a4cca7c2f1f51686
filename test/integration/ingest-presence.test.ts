import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectedBody, disconnectedBody, publishBody } from "../support/emqx-bodies.ts";
import { startIngest } from "../support/ingest-server.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

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

/** The device as the operations API returns it. */
const state = (sn: string) => userReads(env).device(sn);
const presenceEvents = async (sn: string) =>
  (await env.drainEvents()).filter((e) => e.type === "presence" && e.sn === sn);

describe("presence over the EMQX rule endpoint", () => {
  it("marks a device online on connect and announces it once per eventId, even when EMQX retries", async () => {
    const body = connectedBody("SN-P1", 1_000_000);
    expect((await ingest.post(body)).body).toMatchObject({ result: "presence", online: true });
    // A retry of the signal that caused an announcement sends it again (it may have died before the send).
    expect((await ingest.post(body)).status).toBe(200);
    // An st online right after its connect confirms it: no new announcement.
    await ingest.post(
      publishBody("api/mqtt/v1/SN-P1/st", '{"online":true}', { publish_received_at: 1_000_040 }),
    );
    expect(await state("SN-P1")).toMatchObject({ online: true, since: new Date(1_000_000).toISOString() });
    const events = await presenceEvents("SN-P1");
    expect(new Set(events.map((e) => e.eventId)).size).toBe(1);
    expect(events[0]?.data).toMatchObject({ online: true, reason: "connected", version: 1 });
  });

  it("ignores a stale disconnect that arrives after the reconnect", async () => {
    await ingest.post(connectedBody("SN-P2", 2_000_000));
    await ingest.post(disconnectedBody("SN-P2", 1_000_000, 2_000_500, "keepalive_timeout"));
    expect(await state("SN-P2")).toMatchObject({ online: true });
    expect(await presenceEvents("SN-P2")).toHaveLength(1);
  });

  it("keeps a device online through a takeover and its will, and marks it offline on a real drop", async () => {
    await ingest.post(connectedBody("SN-P3", 1_000_000));
    await ingest.post(disconnectedBody("SN-P3", 1_000_000, 5_000_000, "takenover"));
    await ingest.post(
      publishBody("api/mqtt/v1/SN-P3/st", '{"online":false}', { publish_received_at: 5_000_200 }),
    );
    await ingest.post(connectedBody("SN-P3", 5_000_000));
    expect(await state("SN-P3")).toMatchObject({ online: true });
    await ingest.post(disconnectedBody("SN-P3", 5_000_000, 9_000_000, "tcp_closed"));
    expect(await state("SN-P3")).toMatchObject({ online: false });
    const events = await presenceEvents("SN-P3");
    expect(events.map((e) => e.data.online)).toEqual([true, true, false]);
    const versions = events.map((e) => e.data.version as number);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });

  it("marks a device offline from an EMQX 5.7-shaped disconnect (no connected_at), in either order", async () => {
    const legacy = (sn: string, disconnectedAt: number) => {
      const { connected_at: _absent, ...body } = disconnectedBody(sn, 0, disconnectedAt, "normal");
      return body;
    };
    await ingest.post(connectedBody("SN-P5", 1_000_000));
    expect((await ingest.post(legacy("SN-P5", 2_000_000))).body).toMatchObject({ online: false });
    expect(await state("SN-P5")).toMatchObject({ online: false, since: new Date(2_000_000).toISOString() });

    expect((await ingest.post(legacy("SN-P6", 2_000_000))).status).toBe(200);
    await ingest.post(connectedBody("SN-P6", 1_000_000));
    expect(await state("SN-P6")).toMatchObject({ online: false, since: new Date(2_000_000).toISOString() });

    const events = await presenceEvents("SN-P5");
    expect(events.at(-1)?.data).toMatchObject({ online: false, reason: "normal", version: 2 });
  });

  it("announces a will processed before its takeover's disconnect, then its correction with a higher version", async () => {
    await ingest.post(connectedBody("SN-P7", 1_000_000));
    await ingest.post(
      publishBody("api/mqtt/v1/SN-P7/st", '{"online":false}', { publish_received_at: 5_000_200 }),
    );
    await ingest.post(disconnectedBody("SN-P7", 1_000_000, 5_000_000, "takenover"));
    const events = await presenceEvents("SN-P7");
    const newest = events.reduce((a, b) => (Number(b.data.version) > Number(a.data.version) ? b : a));
    expect(newest.data).toMatchObject({ online: true, reason: "connected" });
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    expect(await state("SN-P7")).toMatchObject({ online: true });
  });

  it("ignores lifecycle events of clients whose id is not a serial number", async () => {
    const answer = await ingest.post(connectedBody("dashboard/ops 1", 1_000));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ result: "ignored" });
  });
});
