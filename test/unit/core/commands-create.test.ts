import { describe, expect, it } from "vitest";
import { createCommand } from "../../../functions/core/commands/create-command.ts";
import { CommandConflictError } from "../../../functions/core/commands/errors.ts";
import type { FanoutMessage } from "../../../functions/core/fanout.ts";
import {
  FakeClock,
  MemoryCommandQueue,
  MemoryCommandStore,
  MemoryEventQueue,
} from "../../support/memory/index.ts";
import { commandWorld } from "./command-world.ts";

describe("creating a command", () => {
  it("stores it queued, announces `queued` once and puts one pointer on the device's queue", async () => {
    const world = commandWorld();
    const { command, created } = await world.create("SN1", { id: "c1", op: "reboot", data: { delay: 5 } });

    expect(created).toBe(true);
    expect(command).toMatchObject({
      sn: "SN1",
      id: "c1",
      op: "reboot",
      data: { delay: 5 },
      status: "queued",
    });
    expect(await world.status("SN1", "c1")).toBe("queued");
    expect(world.announced("c1")).toEqual(["queued"]);
    expect(world.queue.target.pending("SN1")).toEqual([{ id: "c1", receiveCount: 0 }]);
  });

  it("is idempotent on the id: the same body again returns the stored command and queues nothing more", async () => {
    const world = commandWorld();
    const first = await world.create("SN1", { id: "c1", op: "reboot" });
    const again = await world.create("SN1", { id: "c1", op: "reboot" });

    expect(again.created).toBe(false);
    expect(again.command.createdAt).toBe(first.command.createdAt);
    expect(world.queue.target.accepted).toHaveLength(1);
    expect(world.events.sent).toHaveLength(1);
  });

  it("refuses the same id with another body, and leaves the stored command as it was", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "c1", op: "reboot" });

    await expect(world.create("SN1", { id: "c1", op: "reboot", data: { now: true } })).rejects.toBeInstanceOf(
      CommandConflictError,
    );
    expect((await world.store.target.get("SN1", "c1"))?.data).toEqual({});
  });

  it("lets two devices use the same id", async () => {
    const world = commandWorld();
    await world.create("SN1", { id: "c1", op: "reboot" });
    const other = await world.create("SN2", { id: "c1", op: "reboot", data: { x: 1 } });

    expect(other.created).toBe(true);
  });

  it("finishes a create an events-queue outage cut short when the client repeats it: queued once, announced once", async () => {
    const world = commandWorld();
    world.events.failNext = 1;
    await expect(world.create("SN1", { id: "c1", op: "reboot" })).rejects.toThrow();
    expect(world.queue.target.accepted).toHaveLength(0);

    await world.create("SN1", { id: "c1", op: "reboot" });

    expect(world.queue.target.accepted.map((p) => p.id)).toEqual(["c1"]);
    expect(world.announced("c1")).toEqual(["queued"]);
  });

  it("finishes a create whose last write failed: the repeat queues the pointer again under the same deduplication id", async () => {
    const world = commandWorld();
    world.store.failNext("markEnqueued");
    await expect(world.create("SN1", { id: "c1", op: "reboot" })).rejects.toThrow();

    await world.create("SN1", { id: "c1", op: "reboot" });

    // SQS drops the second pointer as a repeat; consumers drop the second announcement by eventId.
    expect(world.queue.target.messages.map((m) => m.id)).toEqual(["c1"]);
    expect(world.announced("c1")).toEqual(["queued"]);
    expect((await world.store.target.get("SN1", "c1"))?.enqueuedAt).toBeDefined();
  });

  it("sets the expiry from the TTL on the clock", async () => {
    const world = commandWorld();
    const { command } = await world.create("SN1", { id: "c1", op: "reboot", ttlSeconds: 60 });

    expect(Date.parse(command.expiresAt ?? "") - Date.parse(command.createdAt)).toBe(60_000);
  });

  it("with the queue subscribed to `queued` announcements (the events topic), one send announces and enqueues", async () => {
    const clock = new FakeClock();
    const queue = Object.assign(new MemoryCommandQueue(clock), { fedByAnnouncements: true });
    const events = new MemoryEventQueue();
    // The topic: every event to the events queue; `queued` announcements to the commands queue too.
    const topic = {
      async send(messages: FanoutMessage[]) {
        await events.send(messages);
        const queued = messages.filter((m) => m.type === "command_status" && m.data.status === "queued");
        await queue.enqueue(queued.map((m) => ({ sn: m.sn, id: String(m.data.id), dedupeId: m.eventId })));
      },
    };
    const deps = { commands: new MemoryCommandStore(), events: topic, queue, clock };
    await createCommand(deps, "SN1", { id: "c1", op: "reboot" });
    await createCommand(deps, "SN1", { id: "c1", op: "reboot" });

    expect(events.counts.sends).toBe(1);
    expect(queue.accepted.map((p) => [p.sn, p.id])).toEqual([["SN1", "c1"]]);
  });
});
