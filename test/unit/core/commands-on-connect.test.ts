import { describe, expect, it } from "vitest";
import {
  CLOCK_MARGIN_MS,
  recordPresenceAndRequeue,
  SUBSCRIBED_ST_WINDOW_MS,
  WAIT_MARK_SETTLE_MS,
} from "../../../functions/core/commands/requeue-on-connect.ts";
import { requeuePending } from "../../../functions/core/commands/requeue-pending.ts";
import type { PresenceSignal } from "../../../functions/core/presence.ts";
import { MemoryPresenceStore, withFaults } from "../../support/memory/index.ts";
import { commandWorld } from "./command-world.ts";

/** The command world with presence beside it, reading the store's marks as DynamoDB's read does. */
function fleet() {
  const world = commandWorld();
  const presence = withFaults(new MemoryPresenceStore(world.store.target));
  const deps = { ...world.deps, presence: presence.port };
  const now = () => world.clock.now().getTime();
  const signal = (sn: string, incoming: PresenceSignal) => recordPresenceAndRequeue(deps, sn, incoming);
  return {
    world,
    presence,
    /** The device's connect event, stamped now; returns its `connectedAt`. */
    async connect(sn: string) {
      const connectedAt = now();
      await signal(sn, { kind: "connected", connectedAt });
      world.clock.advance(1);
      return connectedAt;
    },
    async disconnect(sn: string, connectedAt: number) {
      await signal(sn, { kind: "disconnected", connectedAt, disconnectedAt: now(), reason: "normal" });
      world.clock.advance(1);
    },
    /** Its `st` online, as the device sends it after subscribing (and as a heartbeat). */
    async statusOnline(sn: string) {
      await signal(sn, { kind: "status", online: true, at: now() });
      world.clock.advance(1);
    },
    /** Publishes until the queue is empty (a few invocations at most here), `max` messages a batch. */
    async publishAll(max = 10) {
      for (let i = 0; i < 8 && world.queue.target.messages.length > 0; i++) await world.publish(max);
    },
  };
}

describe("commands waiting for a device that comes online", () => {
  it("are queued again on its connect when the publisher found it offline, and then sent", async () => {
    const { world, connect, publishAll } = fleet();
    await world.create("SN1", { id: "c1", op: "reboot" });
    await world.publish();
    expect(await world.status("SN1", "c1")).toBe("pending");

    world.emqx.target.online.add("SN1");
    await connect("SN1");
    await publishAll();

    expect(await world.status("SN1", "c1")).toBe("sent");
    expect(world.announced("c1")).toEqual(["queued", "pending", "sent"]);
  });

  it("are not looked for on a connect when nothing was pending since the last: one read, one write, one send", async () => {
    const { world, presence, connect, disconnect } = fleet();
    world.emqx.target.online.add("SN2");
    const first = await connect("SN2"); // its first ever: lists once, then knows
    await world.create("SN2", { id: "c1", op: "ping" });
    await world.publish();
    expect(await world.status("SN2", "c1")).toBe("sent");
    await disconnect("SN2", first);
    world.store.calls.splice(0);
    presence.calls.splice(0);

    await connect("SN2");

    expect(world.store.calls.filter((call) => call === "listByStatus")).toEqual([]);
    expect(presence.calls).toEqual(["read", "save"]);
    expect(world.events.ofType("presence")).toHaveLength(3);
  });

  it("are looked for on a device's first connect, once: a version before the marks may have left one unmarked", async () => {
    const { world, connect, publishAll } = fleet();
    await world.create("SN15", { id: "old", op: "reboot" });
    await world.store.target.transition("SN15", "old", "pending", world.clock.now().toISOString());
    world.queue.target.messages.splice(0); // as an earlier version left it: pending, no mark, no hold
    world.emqx.target.online.add("SN15");

    await connect("SN15");
    await publishAll();

    expect(await world.status("SN15", "old")).toBe("sent");
    expect(world.store.target.noneWaiting.has("SN15")).toBe(true);
  });

  it("are found by a later connect when the status index had not shown them to the first", async () => {
    const { world, connect, disconnect, publishAll } = fleet();
    world.store.target.lagIndex(); // c1 will not show in listings for now
    await world.create("SN3", { id: "c1", op: "reboot" });
    await world.publish();
    expect(await world.status("SN3", "c1")).toBe("pending");

    // It comes online at once: its listing misses c1, and a newer command goes out (and lifts the hold).
    world.emqx.target.online.add("SN3");
    const first = await connect("SN3");
    await world.create("SN3", { id: "c2", op: "ping" });
    await publishAll();
    expect(await world.status("SN3", "c2")).toBe("sent");
    expect(await world.status("SN3", "c1")).toBe("pending");
    expect(world.store.target.holds.has("SN3")).toBe(false);

    world.emqx.target.online.delete("SN3");
    await disconnect("SN3", first);
    world.store.target.catchUpIndex();
    world.clock.advance(WAIT_MARK_SETTLE_MS);
    world.emqx.target.online.add("SN3");
    await connect("SN3");
    await publishAll();

    expect(await world.status("SN3", "c1")).toBe("sent");
    expect(world.store.target.waiting.has("SN3")).toBe(false); // listed after the index caught up
  });

  it("keep the mark while it is younger than the index's lag, and lose it on a later connect", async () => {
    const { world, connect, disconnect, publishAll } = fleet();
    await world.create("SN4", { id: "c1", op: "reboot" });
    await world.publish();
    const markedAt = world.store.target.waiting.get("SN4");
    expect(markedAt).toBeDefined();

    world.emqx.target.online.add("SN4");
    const first = await connect("SN4");
    await publishAll();
    expect(await world.status("SN4", "c1")).toBe("sent");
    expect(world.store.target.waiting.get("SN4")).toBe(markedAt);

    await disconnect("SN4", first);
    world.clock.advance(WAIT_MARK_SETTLE_MS);
    const second = await connect("SN4");
    expect(world.store.target.waiting.has("SN4")).toBe(false);

    await disconnect("SN4", second);
    const listingsBefore = world.store.calls.filter((call) => call === "listByStatus").length;
    await connect("SN4");
    expect(world.store.calls.filter((call) => call === "listByStatus")).toHaveLength(listingsBefore);
  });

  it("are queued again on its st online when one went pending between its connect and its SUBSCRIBE", async () => {
    const { world, connect, statusOnline, publishAll } = fleet();
    await connect("SN5"); // connected, not subscribed yet: nothing waits, nothing is listed
    await world.create("SN5", { id: "c1", op: "reboot" });
    await world.publish();
    expect(await world.status("SN5", "c1")).toBe("pending");

    world.emqx.target.online.add("SN5"); // subscribed
    await statusOnline("SN5");
    await publishAll();

    expect(await world.status("SN5", "c1")).toBe("sent");
    expect(world.events.ofType("presence")).toHaveLength(1); // the st confirmed, it changed nothing
  });

  it("are not listed on an st that only confirms a device with nothing newer waiting", async () => {
    const { world, connect, statusOnline } = fleet();
    await world.create("SN6", { id: "c1", op: "reboot" });
    await world.publish(); // pending, marked, well before the connect below
    world.clock.advance(CLOCK_MARGIN_MS + 1);
    world.emqx.target.online.add("SN6");
    await connect("SN6");
    const listings = world.store.calls.filter((call) => call === "listByStatus").length;

    await statusOnline("SN6");

    expect(world.store.calls.filter((call) => call === "listByStatus")).toHaveLength(listings);
  });

  it("reach the device when a re-queued one goes pending again before its SUBSCRIBE, after the mark was lifted", async () => {
    const { world, connect, disconnect, statusOnline, publishAll } = fleet();
    await world.create("SN7", { id: "c1", op: "reboot" });
    await world.publish();
    const first = await connect("SN7"); // not subscribed: re-queued, and pending again
    await publishAll();
    await disconnect("SN7", first);
    world.clock.advance(WAIT_MARK_SETTLE_MS);

    // The settled listing re-queues c1 and lifts the mark; EMQX again finds no subscriber.
    await connect("SN7");
    await publishAll();
    expect(await world.status("SN7", "c1")).toBe("pending");
    expect(world.store.target.waiting.has("SN7")).toBe(true); // marked again, though nothing changed

    world.emqx.target.online.add("SN7"); // subscribed
    await statusOnline("SN7");
    await publishAll();
    expect(await world.status("SN7", "c1")).toBe("sent");
  });

  it("are looked for when only the hold mark says so (commands made pending before the other mark existed)", async () => {
    const { world, connect, publishAll } = fleet();
    await world.create("SN8", { id: "c1", op: "reboot" });
    await world.publish();
    world.store.target.waiting.delete("SN8");
    expect(world.store.target.holds.has("SN8")).toBe(true);

    world.emqx.target.online.add("SN8");
    await connect("SN8");
    await publishAll();
    expect(await world.status("SN8", "c1")).toBe("sent");
  });
});

describe("order when a pending command is re-queued behind a newer one", () => {
  it("publishes the older command first when both land in one batch", async () => {
    const { world, connect, statusOnline, publishAll } = fleet();
    await world.create("SN11", { id: "c1", op: "reboot" });
    await world.publish(); // offline: pending, marked, held
    world.clock.advance(10_000);
    await connect("SN11"); // re-queues c1
    await publishAll(); // before its SUBSCRIBE: c1 pending again, marked again

    // An app reacts to the "online" announcement; the device subscribes and sends its st.
    await world.create("SN11", { id: "c2", op: "ping" });
    world.emqx.target.online.add("SN11");
    await statusOnline("SN11"); // re-queues c1 again, behind c2
    await publishAll();

    expect(world.emqx.target.delivered("SN11")).toEqual(["c1", "c2"]);
  });
});

describe("order when re-queued pending commands are split across batches", () => {
  it("publishes a stored command created between two of the batch's commands between them", async () => {
    const { world, connect, statusOnline, publishAll } = fleet();
    await world.create("SN14", { id: "c1", op: "reboot" });
    await world.create("SN14", { id: "c15", op: "reboot" });
    await publishAll(); // offline: both pending, held
    world.clock.advance(10_000);
    await connect("SN14");
    await publishAll(); // not subscribed yet: pending again
    await world.create("SN14", { id: "c2", op: "ping" });
    world.emqx.target.online.add("SN14");
    await statusOnline("SN14"); // the queue: c2, c1, c15

    await publishAll(2); // [c2, c1], then [c15]

    expect(world.emqx.target.delivered("SN14")).toEqual(["c1", "c15", "c2"]);
  });
});

describe("a device with more waiting commands than one listing shows", () => {
  it("gets them all in order once subscribed, without any message spending its receives", async () => {
    const { world, connect, statusOnline } = fleet();
    const ids = Array.from({ length: 30 }, (_, i) => `p${String(i + 1).padStart(2, "0")}`);
    for (const id of ids) await world.create("SN16", { id, op: "x" });
    const outcomes: string[] = [];
    const publishAll = async () => {
      for (let i = 0; i < 12 && world.queue.target.messages.length > 0; i++)
        outcomes.push(...Object.values((await world.publish()).report.outcomes));
    };
    await publishAll(); // offline: all 30 pending, held
    world.clock.advance(10_000);
    await connect("SN16");
    await publishAll(); // before its SUBSCRIBE: pending again
    await world.create("SN16", { id: "n", op: "x" });
    world.emqx.target.online.add("SN16");
    await statusOnline("SN16");
    outcomes.splice(0); // offline, the listing cannot see past 25 pending: those waits are fair
    await publishAll();

    expect(world.emqx.target.delivered("SN16")).toEqual([...ids, "n"]);
    expect(outcomes).not.toContain("recycled");
  });
});

describe("a listing cut inside one millisecond", () => {
  it("lets no command of that millisecond past one the listing could not see", async () => {
    const { world } = fleet();
    for (let i = 1; i <= 24; i++)
      await world.create("SN17", { id: `p${String(i).padStart(2, "0")}`, op: "x" });
    const at = world.clock.now();
    for (const id of ["a", "m"]) {
      world.clock.set(at);
      await world.create("SN17", { id, op: "x" });
    }
    for (let i = 0; i < 5 && world.queue.target.messages.length > 0; i++) await world.publish(); // offline
    world.clock.set(at);
    await world.create("SN17", { id: "z", op: "x" }); // same millisecond, after m
    world.clock.advance(10);
    await world.create("SN17", { id: "n", op: "x" });
    world.emqx.target.online.add("SN17");

    for (let i = 0; i < 5 && world.queue.target.messages.length > 0; i++) await world.publish();

    const delivered = world.emqx.target.delivered("SN17");
    expect(delivered.slice(-4)).toEqual(["a", "m", "z", "n"]);
    expect(delivered).toHaveLength(28);
  });
});

describe("a pending command in the millisecond of the batch's only command", () => {
  it("goes out with it even when its id sorts after it", async () => {
    const { world } = fleet();
    const at = world.clock.now();
    await world.create("SN18", { id: "m", op: "x" });
    await world.publish(); // offline: pending, held through its millisecond
    world.clock.set(at);
    await world.create("SN18", { id: "c", op: "x" });
    world.emqx.target.online.add("SN18");

    await world.publish();
    world.clock.advance(10);
    await world.create("SN18", { id: "n", op: "x" });
    await world.publish();

    expect(world.emqx.target.delivered("SN18")).toEqual(["c", "m", "n"]);
  });
});

describe("a status index that has not caught up with what was just published", () => {
  it("does not make the publisher send those commands again", async () => {
    const { world } = fleet();
    const ids = Array.from({ length: 12 }, (_, i) => `p${String(i + 1).padStart(2, "0")}`);
    for (const id of ids) await world.create("SN19", { id, op: "x" });
    for (let i = 0; i < 3 && world.queue.target.messages.length > 0; i++) await world.publish(); // offline
    world.emqx.target.online.add("SN19");
    await requeuePending(world.deps, "SN19", "connected-1");
    world.store.target.lagIndex(); // listings keep showing all 12 as pending

    await world.publish(); // p01..p10 go out
    await world.publish(); // p11, p12; the listing still says p01..p10 are pending

    expect(world.emqx.target.delivered("SN19")).toEqual(ids);
  });
});

describe("a status index that lists a command under both statuses it moves between", () => {
  it("does not make the publisher send it twice", async () => {
    const { world } = fleet();
    for (const id of ["p1", "p2"]) await world.create("SN20", { id, op: "x" });
    for (let i = 0; i < 3 && world.queue.target.messages.length > 0; i++) await world.publish(); // offline
    world.emqx.target.online.add("SN20");
    const store = world.store.target;
    const list = store.listByStatus.bind(store);
    store.listByStatus = async (sn, status, limit, cursor) =>
      status === "queued" ? list(sn, "pending", limit, cursor) : list(sn, status, limit, cursor);

    await world.create("SN20", { id: "c3", op: "x" });
    await world.publish(); // c3 lists p1 and p2, under both statuses

    expect(world.emqx.target.delivered("SN20")).toEqual(["p1", "p2", "c3"]);
  });
});

describe("a device that stays connected without subscribing", () => {
  it("has its pending command re-queued by its first st, not by every heartbeat", async () => {
    const { world, connect, statusOnline, publishAll } = fleet();
    await connect("SN10");
    await world.create("SN10", { id: "c1", op: "reboot" });
    await world.publish(); // pending: it never subscribes

    await statusOnline("SN10");
    await publishAll();
    expect(await world.status("SN10", "c1")).toBe("pending");
    const calls = world.emqx.target.calls.length;

    world.clock.advance(SUBSCRIBED_ST_WINDOW_MS);
    await statusOnline("SN10"); // a heartbeat
    await publishAll();
    expect(world.emqx.target.calls).toHaveLength(calls);
  });
});

describe("a device seen before the marks existed", () => {
  /** As an earlier version left it: known presence, a pending command, no mark at all. */
  async function legacyDevice(world: ReturnType<typeof fleet>, sn: string) {
    const first = await world.connect(sn);
    await world.disconnect(sn, first);
    world.world.store.target.noneWaiting.delete(sn);
    await world.world.create(sn, { id: "old", op: "reboot" });
    await world.world.store.target.transition(sn, "old", "pending", world.world.clock.now().toISOString());
    world.world.queue.target.messages.splice(0);
    world.world.emqx.target.online.add(sn);
  }

  it("has its unmarked pending command found by its next connect, and later connects list nothing", async () => {
    const devices = fleet();
    await legacyDevice(devices, "SN12");

    const second = await devices.connect("SN12");
    await devices.publishAll();
    expect(await devices.world.status("SN12", "old")).toBe("sent");

    await devices.disconnect("SN12", second);
    const listings = devices.world.store.calls.filter((call) => call === "listByStatus").length;
    await devices.connect("SN12");
    expect(devices.world.store.calls.filter((call) => call === "listByStatus")).toHaveLength(listings);
  });

  it("lists again on the retry of a connect whose listing failed", async () => {
    const devices = fleet();
    await legacyDevice(devices, "SN13");
    const connectedAt = devices.world.clock.now().getTime();
    const deps = { ...devices.world.deps, presence: devices.presence.port };

    devices.world.store.failNext("listByStatus");
    await expect(
      recordPresenceAndRequeue(deps, "SN13", { kind: "connected", connectedAt }),
    ).rejects.toThrow();
    await recordPresenceAndRequeue(deps, "SN13", { kind: "connected", connectedAt }); // EMQX's retry
    await devices.publishAll();

    expect(await devices.world.status("SN13", "old")).toBe("sent");
  });
});

describe("the publisher's mark", () => {
  it("is set again when a command stays pending, and a failure to set it sends the message back", async () => {
    const world = commandWorld();
    await world.create("SN9", { id: "c1", op: "reboot" });
    await world.publish();
    world.store.target.waiting.delete("SN9");
    await requeuePending(world.deps, "SN9", "connected-1");

    world.store.failNext("markWaiting");
    const { report } = await world.publish();
    expect(report.failed).toHaveLength(1);
    expect(world.store.target.waiting.has("SN9")).toBe(false);

    await world.publish();
    expect(await world.status("SN9", "c1")).toBe("pending");
    expect(world.store.target.waiting.has("SN9")).toBe(true);
  });
});
