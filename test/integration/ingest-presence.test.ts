import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectedBody, disconnectedBody, publishBody } from "../support/emqx-bodies.ts";
import { startIngest } from "../support/ingest-server.ts";
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

const state = async (sn: string) => (await env.partition(`DEVICE#${sn}`, "STATE"))[0];
const presenceEvents = async (sn: string) =>
  (await env.drainEvents()).filter((e) => e.type === "presence" && e.sn === sn);

describe("presence over the EMQX rule endpoint", () => {
  it("marks a device online on connect and announces it once, even when EMQX retries", async () => {
    const body = connectedBody("SN-P1", 1_000_000);
    expect((await ingest.post(body)).body).toMatchObject({ result: "presence", online: true });
    expect((await ingest.post(body)).status).toBe(200);
    expect(await state("SN-P1")).toMatchObject({ online: true, since: new Date(1_000_000).toISOString() });
    const events = await presenceEvents("SN-P1");
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toMatchObject({ online: true, reason: "connected" });
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
  });

  it("ignores lifecycle events of clients whose id is not a serial number", async () => {
    const answer = await ingest.post(connectedBody("dashboard/ops 1", 1_000));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ result: "ignored" });
  });
});
