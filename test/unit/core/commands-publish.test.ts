import { describe, expect, it } from "vitest";
import { MAX_COMMAND_PAYLOAD_BYTES } from "../../../functions/core/commands/envelope.ts";
import { requeuePending } from "../../../functions/core/commands/requeue-pending.ts";
import { TransientError } from "../../../functions/core/errors.ts";
import { FAILED_TO_DISPATCH } from "../../support/memory/index.ts";
import { commandWorld, RECYCLE_AFTER } from "./command-world.ts";

describe("publishing commands", () => {
  it("publishes to an online device in one EMQX call: sent with EMQX's message id, announced queued then sent", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "c1", op: "reboot", data: { a: 1 } });

    const { report } = await world.publish();

    expect(report).toMatchObject({ failed: [], emqxCalls: 1 });
    const [request] = world.emqx.target.calls[0] ?? [];
    expect(request).toMatchObject({ topic: "api/mqtt/v1/SN1/cmd", qos: 1 });
    expect(JSON.parse(request?.payload ?? "")).toEqual({ id: "c1", op: "reboot", data: { a: 1 } });
    expect(await world.store.target.get("SN1", "c1")).toMatchObject({ status: "sent", messageId: "emqx-1" });
    expect(world.announced("c1")).toEqual(["queued", "sent"]);
    expect(world.queue.target.messages).toHaveLength(0);
  });

  it("keeps a command for an offline device pending, and sends it once the device is back", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "c1", op: "reboot" });

    await world.publish();
    expect(await world.store.target.get("SN1", "c1")).toMatchObject({
      status: "pending",
      reason: expect.stringContaining("no_matching_subscribers"),
    });

    world.emqx.target.online.add("SN1");
    expect(await requeuePending(world.deps, "SN1", "connected-1")).toBe(1);
    await world.publish();

    expect(await world.store.target.get("SN1", "c1")).toMatchObject({ status: "sent" });
    expect(world.announced("c1")).toEqual(["queued", "pending", "sent"]);
    expect(world.emqx.target.delivered("SN1")).toEqual(["c1"]);
  });

  it("keeps each device's order: commands of two devices in one batch go out in creation order, in one call", async () => {
    const world = commandWorld();
    for (const sn of ["A", "B"]) world.emqx.target.online.add(sn);
    for (const [sn, id] of [
      ["A", "a1"],
      ["B", "b1"],
      ["A", "a2"],
      ["A", "a3"],
      ["B", "b2"],
      ["A", "a4"],
    ]) {
      await world.create(sn as string, { id: id as string, op: "x" });
    }

    const { report } = await world.publish();

    expect(report.emqxCalls).toBe(1);
    expect(world.emqx.target.delivered("A")).toEqual(["a1", "a2", "a3", "a4"]);
    expect(world.emqx.target.delivered("B")).toEqual(["b1", "b2"]);
  });

  it("retries the whole batch while EMQX is down (statuses stay queued), then sends each command once", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    for (const id of ["c1", "c2"]) await world.create("SN1", { id, op: "x" });
    world.emqx.failNext("publishBulk", 2);

    for (let attempt = 0; attempt < 2; attempt++) {
      const { report } = await world.publish();
      expect(report.failed).toHaveLength(2);
      expect(await world.status("SN1", "c1")).toBe("queued");
    }
    await world.publish();

    expect(world.emqx.target.delivered("SN1")).toEqual(["c1", "c2"]);
    expect(world.announced("c2")).toEqual(["queued", "sent"]);
  });

  it("publishes a replayed queue message only once", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "c1", op: "x" });
    await world.publish();

    await world.queue.target.enqueue([{ sn: "SN1", id: "c1", dedupeId: "replayed" }]);
    const { report } = await world.publish();

    expect(Object.values(report.outcomes)).toEqual(["skipped"]);
    expect(world.emqx.target.delivered("SN1")).toEqual(["c1"]);
  });

  it("publishes a command once when two pointers for it land in one batch", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "c1", op: "x" });
    await world.queue.target.enqueue([{ sn: "SN1", id: "c1", dedupeId: "c1-connected-1" }]);

    await world.publish();

    expect(world.publishedIds()).toEqual([["c1"]]);
  });

  it("fails a command too large to publish and sends the rest of the batch in one call", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "big", op: "x", data: { blob: "x".repeat(MAX_COMMAND_PAYLOAD_BYTES) } });
    await world.create("SN1", { id: "small", op: "x" });

    const { report } = await world.publish();

    expect(report.emqxCalls).toBe(1);
    expect(await world.store.target.get("SN1", "big")).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("bytes"),
    });
    expect(world.emqx.target.delivered("SN1")).toEqual(["small"]);
  });

  it("splits a bulk EMQX refuses until the poison command is alone: it fails, the others are sent", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    for (const id of ["c1", "c2", "poison", "c4", "c5", "c6"]) await world.create("SN1", { id, op: "x" });
    world.emqx.target.rejectIf = (request) => request.properties.user_properties.command_id === "poison";

    const { report } = await world.publish();

    expect(report.failed).toEqual([]);
    expect(report.emqxCalls).toBeGreaterThan(1);
    expect(await world.status("SN1", "poison")).toBe("failed");
    expect(world.emqx.target.delivered("SN1")).toEqual(["c1", "c2", "c4", "c5", "c6"]);
  });

  it("keeps what EMQX took when a later call of a split fails, and holds back the rest so order holds", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    for (const id of ["c1", "c2", "c3", "poison"]) await world.create("SN1", { id, op: "x" });
    world.emqx.target.rejectIf = (request) => request.properties.user_properties.command_id === "poison";
    // The whole batch is refused, its first half is taken, the second half's call fails outright.
    const publishBulk = world.emqx.target.publishBulk.bind(world.emqx.target);
    let call = 0;
    world.emqx.target.publishBulk = async (requests) => {
      if (++call === 3) throw new TransientError("EMQX went down mid-split");
      return publishBulk(requests);
    };

    const { report } = await world.publish();

    expect(await world.status("SN1", "c1")).toBe("sent");
    expect(await world.status("SN1", "c2")).toBe("sent");
    expect(await world.status("SN1", "c3")).toBe("queued");
    expect(report.failed).toHaveLength(2);
    world.emqx.target.publishBulk = publishBulk;
    await world.publish();
    expect(world.emqx.target.delivered("SN1")).toEqual(["c1", "c2", "c3"]);
    expect(await world.status("SN1", "poison")).toBe("failed");
  });

  it("retries a command EMQX could not dispatch (131); what EMQX took in the same call stays sent, never sent twice", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    for (const id of ["c1", "c2"]) await world.create("SN1", { id, op: "x" });
    let refusals = 1;
    world.emqx.target.answer = (request) =>
      request.properties.user_properties.command_id === "c1" && refusals-- > 0
        ? { ok: false, reasonCode: FAILED_TO_DISPATCH, message: "failed_to_dispatch" }
        : undefined;

    const { report } = await world.publish();
    expect(report.outcomes).toEqual({ m1: "retry", m2: "sent" });
    expect(await world.status("SN1", "c1")).toBe("queued");

    await world.publish();
    expect(await world.status("SN1", "c1")).toBe("sent");
    expect(world.emqx.target.delivered("SN1")).toEqual(["c2", "c1"]);
  });
});

describe("publishing through an outage longer than the receive budget", () => {
  it("recycles held-back messages before SQS would dead-letter them: nothing lost, order kept", async () => {
    const world = commandWorld();
    for (const sn of ["A", "B"]) world.emqx.target.online.add(sn);
    for (const [sn, id] of [
      ["A", "a1"],
      ["B", "b1"],
      ["A", "a2"],
      ["B", "b2"],
      ["A", "a3"],
    ]) {
      await world.create(sn as string, { id: id as string, op: "x" });
    }
    world.emqx.failNext("publishBulk", 4 * RECYCLE_AFTER);

    const outcomes = new Set<string>();
    for (let attempt = 0; attempt < 4 * RECYCLE_AFTER + 2; attempt++) {
      const { report } = await world.publish();
      for (const outcome of Object.values(report.outcomes)) outcomes.add(outcome);
    }

    expect(outcomes).toContain("recycled");
    expect(world.deadLettered).toEqual([]);
    expect(world.emqx.target.delivered("A")).toEqual(["a1", "a2", "a3"]);
    expect(world.emqx.target.delivered("B")).toEqual(["b1", "b2"]);
    // The recycled pointers marked their devices; the next newer command lifts the mark once it is sent.
    expect([...world.store.target.holds.keys()]).toEqual(["A", "B"]);
    await world.create("A", { id: "a4", op: "x" });
    await world.publish();
    expect(world.emqx.target.delivered("A")).toEqual(["a1", "a2", "a3", "a4"]);
    expect([...world.store.target.holds.keys()]).toEqual(["B"]);
  });

  it("leaves a message to the DLQ when the command, not an outage, keeps failing", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "c1", op: "x" });
    world.store.failNext("readBatch", 10, new Error("a bug, not an outage"));

    for (let attempt = 0; attempt < 6; attempt++) await world.publish();

    expect(world.deadLettered).toEqual(["c1"]);
  });
});

describe("publishing and the clock", () => {
  it("expires a command whose TTL passed before it could be published, and never sends it", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "c1", op: "x", ttlSeconds: 60 });
    world.clock.advance(60_000);

    const { report } = await world.publish();

    expect(report.emqxCalls).toBe(0);
    expect(await world.store.target.get("SN1", "c1")).toMatchObject({
      status: "expired",
      reason: expect.stringContaining("TTL"),
    });
    expect(world.announced("c1")).toEqual(["queued", "expired"]);
  });

  it("gives EMQX the TTL left on the clock as the message expiry", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "c1", op: "x", ttlSeconds: 60 });
    world.clock.advance(20_000);

    await world.publish();

    expect(world.emqx.target.calls[0]?.[0]?.properties.message_expiry_interval).toBe(40);
  });

  it("expires a pending command whose TTL passed while the device was away, instead of queueing it again", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "short", op: "x", ttlSeconds: 30 });
    await world.create("SN1", { id: "long", op: "x", ttlSeconds: 3_600 });
    await world.publish();
    world.clock.advance(31_000);

    expect(await requeuePending(world.deps, "SN1", "connected-2")).toBe(1);

    expect(await world.status("SN1", "short")).toBe("expired");
    expect(world.queue.target.pending("SN1").map((p) => p.id)).toEqual(["long"]);
  });
});

describe("a device's older pending commands go first", () => {
  it("sends an older pending command before a newer one that reaches the publisher first", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "old", op: "x" });
    await world.publish();
    expect(await world.status("SN1", "old")).toBe("pending");

    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "new", op: "x" });
    await world.publish();

    expect(world.emqx.target.delivered("SN1")).toEqual(["old", "new"]);
    expect(world.store.target.holds.size).toBe(0);
    // The re-queue on connect arrives later and publishes nothing twice.
    await requeuePending(world.deps, "SN1", "connected-1");
    await world.publish();
    expect(world.emqx.target.delivered("SN1")).toEqual(["old", "new"]);
  });

  it("sends a pending command created in the same millisecond as the one that reaches the publisher", async () => {
    const world = commandWorld();
    const at = world.clock.now();
    await world.create("SN1", { id: "first", op: "x" });
    await world.publish();
    expect(await world.status("SN1", "first")).toBe("pending");

    world.emqx.target.online.add("SN1");
    world.clock.set(at); // a job's slice or a busy API can stamp two commands with one millisecond
    await world.create("SN1", { id: "second", op: "x" });
    await world.publish();

    expect(world.emqx.target.delivered("SN1")).toEqual(["first", "second"]);
    expect(await world.status("SN1", "first")).toBe("sent");
  });

  it("makes the newer command wait when the older ones cannot be listed", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "old", op: "x" });
    await world.publish();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "new", op: "x" });
    world.store.failNext("listByStatus");

    const { report } = await world.publish();
    expect(report.failed).toHaveLength(1);
    expect(world.emqx.target.delivered("SN1")).toEqual([]);

    await world.publish();
    expect(world.emqx.target.delivered("SN1")).toEqual(["old", "new"]);
  });
});

describe("publishing when the events queue fails", () => {
  it("writes the changes unannounced and retries; the redelivery announces them and publishes nothing again", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "c1", op: "x" });
    world.events.failNext = 1;

    const { report } = await world.publish();
    expect(report.failed).toHaveLength(1);
    expect(await world.status("SN1", "c1")).toBe("sent");
    expect(world.announced("c1")).toEqual(["queued"]);

    await world.publish();
    expect(world.announced("c1")).toEqual(["queued", "sent"]);
    expect(world.emqx.target.delivered("SN1")).toEqual(["c1"]);
  });
});
