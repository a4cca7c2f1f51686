import { describe, expect, it } from "vitest";
import { createCommand } from "../../../functions/core/commands/create-command.ts";
import {
  DEAD_LETTERED_REASON,
  failDeadLettered,
} from "../../../functions/core/commands/fail-dead-lettered.ts";
import { takeNextCommand, waitForNextCommand } from "../../../functions/core/commands/next-for-device.ts";
import { recordDelivered, recordDeviceAck } from "../../../functions/core/commands/track-delivery.ts";
import { commandWorld } from "./command-world.ts";

describe("a device's answers move a command forward only", () => {
  it("moves it to delivered on the PUBACK and to acked with the device's result, announcing each", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "c1", op: "x" });
    await world.publish();

    expect((await recordDelivered(world.deps, "SN1", "c1")).changed).toBe(true);
    expect((await recordDeviceAck(world.deps, "SN1", { id: "c1", ok: true, result: { v: 2 } })).changed).toBe(
      true,
    );

    expect(await world.store.target.get("SN1", "c1")).toMatchObject({ status: "acked", result: { v: 2 } });
    expect(world.announced("c1")).toEqual(["queued", "sent", "delivered", "acked"]);
  });

  it("changes nothing on a late PUBACK or a repeated answer", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "c1", op: "x" });
    await recordDeviceAck(world.deps, "SN1", { id: "c1", ok: false, error: "disk full" });

    const late = await recordDelivered(world.deps, "SN1", "c1");
    const repeated = await recordDeviceAck(world.deps, "SN1", { id: "c1", ok: true });

    expect([late.changed, repeated.changed]).toEqual([false, false]);
    expect(await world.store.target.get("SN1", "c1")).toMatchObject({
      status: "failed",
      reason: "disk full",
    });
    expect(world.announced("c1")).toEqual(["queued", "failed"]);
  });

  it("finishes an announcement an events-queue outage cut short when the PUBACK is repeated", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "c1", op: "x" });
    world.events.failNext = 1;
    await expect(recordDelivered(world.deps, "SN1", "c1")).rejects.toThrow();
    expect(world.announced("c1")).toEqual(["queued"]);

    await recordDelivered(world.deps, "SN1", "c1");

    expect(world.announced("c1")).toEqual(["queued", "delivered"]);
  });

  it("answers an unknown command as unchanged", async () => {
    const world = commandWorld();
    expect(await recordDelivered(world.deps, "SN1", "nope")).toEqual({ changed: false });
  });
});

describe("a dead-lettered command", () => {
  it("becomes failed with the reason, announced, when it was still waiting", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "c1", op: "x" });

    expect(await failDeadLettered(world.deps, { sn: "SN1", id: "c1" })).toBe("failed");

    expect(await world.store.target.get("SN1", "c1")).toMatchObject({
      status: "failed",
      reason: DEAD_LETTERED_REASON,
    });
    expect(world.announced("c1")).toEqual(["queued", "failed"]);
  });

  it("is left as it is once published, and reported missing when there is no such command", async () => {
    const world = commandWorld();
    world.emqx.target.online.add("SN1");
    await world.create("SN1", { id: "c1", op: "x" });
    await world.publish();

    expect(await failDeadLettered(world.deps, { sn: "SN1", id: "c1" })).toBe("unchanged");
    expect(await world.status("SN1", "c1")).toBe("sent");
    expect(await failDeadLettered(world.deps, { sn: "SN1", id: "gone" })).toBe("missing");
  });
});

describe("a polling device takes its next command", () => {
  it("takes the oldest deliverable one across queued and pending, marks it delivered, and never hands it out twice", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "c1", op: "x" });
    await world.publish(); // offline: c1 becomes pending
    await world.create("SN1", { id: "c2", op: "x" });

    const first = await takeNextCommand(world.deps, "SN1");
    const second = await takeNextCommand(world.deps, "SN1");
    const third = await takeNextCommand(world.deps, "SN1");

    expect([first?.id, second?.id, third]).toEqual(["c1", "c2", undefined]);
    expect(first?.status).toBe("delivered");
    expect(world.announced("c1")).toEqual(["queued", "pending", "delivered"]);
  });

  it("hands out commands of one millisecond in the order the publisher sends them (createdAt, then id)", async () => {
    const world = commandWorld();
    await createCommand(world.deps, "SN1", { id: "a", op: "x" });
    await world.publish(); // offline: a becomes pending
    await createCommand(world.deps, "SN1", { id: "b", op: "x" }); // the same millisecond, still queued

    const taken = [await takeNextCommand(world.deps, "SN1"), await takeNextCommand(world.deps, "SN1")];

    expect(taken.map((c) => c?.id)).toEqual(["a", "b"]);
  });

  it("expires the ones whose TTL passed on the way, announced, and hands out the next", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "short", op: "x", ttlSeconds: 10 });
    await world.create("SN1", { id: "long", op: "x" });
    world.clock.advance(10_000);

    expect((await takeNextCommand(world.deps, "SN1"))?.id).toBe("long");
    expect(await world.status("SN1", "short")).toBe("expired");
    expect(world.announced("short")).toEqual(["queued", "expired"]);
  });

  it("lets only one of two simultaneous polls take a command", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "c1", op: "x" });

    const taken = await Promise.all([takeNextCommand(world.deps, "SN1"), takeNextCommand(world.deps, "SN1")]);

    expect(taken.filter(Boolean).map((c) => c?.id)).toEqual(["c1"]);
  });

  it("does not wait when asked not to, and takes nothing for a client that has gone", async () => {
    const world = commandWorld();
    expect(await waitForNextCommand(world.deps, "SN1", { waitMs: 0, intervalMs: 10 })).toBeUndefined();

    await world.create("SN1", { id: "c1", op: "x" });
    const gone = AbortSignal.abort();
    expect(
      await waitForNextCommand(world.deps, "SN1", { waitMs: 0, intervalMs: 10, signal: gone }),
    ).toBeUndefined();
    expect(await world.status("SN1", "c1")).toBe("queued");
  });
});
