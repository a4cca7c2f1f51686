import { beforeEach, describe, expect, it } from "vitest";
import { createCommand } from "../../../functions/core/commands/create-command.ts";
import { publishCommands } from "../../../functions/core/commands/publish-commands.ts";
import { switchTransport } from "../../../functions/core/commands/switch-transport.ts";
import {
  FakeClock,
  MemoryCommandQueue,
  MemoryDevicePublisher,
  MemoryEventQueue,
  TransportAwareCommandStore,
} from "../../support/memory/index.ts";

let store: TransportAwareCommandStore;
let queue: MemoryCommandQueue;
let publisher: MemoryDevicePublisher;
let deps: Parameters<typeof switchTransport>[0] & Parameters<typeof publishCommands>[0];

let clock: FakeClock;

beforeEach(() => {
  clock = new FakeClock();
  store = new TransportAwareCommandStore();
  queue = new MemoryCommandQueue(clock);
  publisher = new MemoryDevicePublisher();
  const events = new MemoryEventQueue();
  // Connected means subscribed here: what EMQX's publish finds is what the presence says.
  const presence = {
    get: async (sn: string) => ({ sn, online: publisher.online.has(sn) }),
  };
  deps = { commands: store, transports: store.transports, presence, queue, events, clock, publisher };
});

async function publishQueued(): Promise<void> {
  while (queue.messages.some((m) => !m.inFlight)) {
    const batch = queue.receive(10);
    queue.settle(batch, (await publishCommands(deps, batch)).failed);
  }
}

describe("switching a device's transport", () => {
  it("sends the commands that waited for its poll, in order, once it takes them over MQTT", async () => {
    await store.transports.set("SN1", "http", "2026-12-03T00:00:00.000Z");
    await createCommand(deps, "SN1", { id: "c1", op: "x" });
    await createCommand(deps, "SN1", { id: "c2", op: "x" });
    await publishQueued();
    publisher.online.add("SN1"); // connected and subscribed, with no reason to reconnect

    expect(await switchTransport(deps, "SN1", "mqtt")).toEqual({ requeued: 2 });
    await publishQueued();

    expect(publisher.delivered("SN1")).toEqual(["c1", "c2"]);
    expect(store.items.get("SN1/c2")?.status).toBe("sent");
  });

  it("re-queues them again when the PUT is retried after an enqueue failed", async () => {
    await store.transports.set("SN3", "http", "2026-12-03T00:00:00.000Z");
    await createCommand(deps, "SN3", { id: "c1", op: "x" });
    await createCommand(deps, "SN3", { id: "c2", op: "x" });
    await publishQueued();
    publisher.online.add("SN3");
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = async () => {
      queue.enqueue = enqueue;
      throw new Error("SQS unavailable");
    };

    await expect(switchTransport(deps, "SN3", "mqtt")).rejects.toThrow("SQS unavailable");
    expect(await switchTransport(deps, "SN3", "mqtt")).toEqual({ requeued: 2 });
    await publishQueued();

    expect(publisher.delivered("SN3")).toEqual(["c1", "c2"]);
  });

  it("sends a command a publisher batch held while the transport changed", async () => {
    await store.transports.set("SN4", "http", "2026-12-03T00:00:00.000Z");
    publisher.online.add("SN4");
    await createCommand(deps, "SN4", { id: "c1", op: "x" });
    const batch = queue.receive(10); // read as an HTTP device's, not yet written `pending`
    const read = store.readBatch.bind(store);
    store.readBatch = async (pointers) => {
      const result = await read(pointers);
      await switchTransport(deps, "SN4", "mqtt");
      return result;
    };
    queue.settle(batch, (await publishCommands(deps, batch)).failed);
    store.readBatch = read;

    await publishQueued();

    expect(publisher.delivered("SN4")).toEqual(["c1"]);
  });

  it("finds a command the status index still shows as queued, and marks the device for its next connect", async () => {
    await store.transports.set("SN5", "http", "2026-12-03T00:00:00.000Z");
    await createCommand(deps, "SN5", { id: "c1", op: "x" });
    store.lagIndex(); // the index keeps showing c1 `queued` after the publisher makes it `pending`
    await publishQueued();
    publisher.online.add("SN5");

    expect(await switchTransport(deps, "SN5", "mqtt")).toEqual({ requeued: 1 });
    await publishQueued();

    expect(publisher.delivered("SN5")).toEqual(["c1"]);
    expect(store.waiting.has("SN5")).toBe(true);
  });

  it("re-queues nothing when set to http, nor an offline MQTT device's commands (its connect does)", async () => {
    await createCommand(deps, "SN2", { id: "c1", op: "x" });
    await publishQueued(); // offline over MQTT: pending until it connects

    expect(await switchTransport(deps, "SN2", "http")).toEqual({ requeued: 0 });
    await store.transports.set("SN2", "mqtt", "2026-12-03T00:00:00.000Z");
    expect(await switchTransport(deps, "SN2", "mqtt")).toEqual({ requeued: 0 });
    expect(queue.messages).toEqual([]);
    expect(store.items.get("SN2/c1")?.status).toBe("pending");
  });

  it("expires a command whose TTL passed while it waited for the poll, and does not count it", async () => {
    await store.transports.set("SN6", "http", "2026-12-03T00:00:00.000Z");
    await createCommand(deps, "SN6", { id: "long", op: "x" });
    clock.advance(1); // newer than every command the PUT re-queues: nothing else looks at it
    await createCommand(deps, "SN6", { id: "short", op: "x", ttlSeconds: 60 });
    await publishQueued();
    publisher.online.add("SN6");
    clock.advance(120_000);

    expect(await switchTransport(deps, "SN6", "mqtt")).toEqual({ requeued: 1 });
    await publishQueued();

    expect(publisher.delivered("SN6")).toEqual(["long"]);
    expect(store.items.get("SN6/short")?.status).toBe("expired");
  });

  it("sends a connected device a command that went pending before it was ever set to http", async () => {
    await createCommand(deps, "SN7", { id: "c1", op: "x" });
    await publishQueued(); // offline over MQTT: pending, no subscriber
    await switchTransport(deps, "SN7", "http");
    publisher.online.add("SN7"); // connects while http: its connect's re-queue keeps c1 pending for the poll

    expect(await switchTransport(deps, "SN7", "mqtt")).toEqual({ requeued: 1 });
    await publishQueued();

    expect(publisher.delivered("SN7")).toEqual(["c1"]);
  });
});
