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

beforeEach(() => {
  const clock = new FakeClock();
  store = new TransportAwareCommandStore();
  queue = new MemoryCommandQueue(clock);
  publisher = new MemoryDevicePublisher();
  const events = new MemoryEventQueue();
  deps = { commands: store, transports: store.transports, queue, events, clock, publisher };
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

  it("leaves waiting commands alone when nothing moves a device off HTTP", async () => {
    await createCommand(deps, "SN2", { id: "c1", op: "x" });
    await publishQueued(); // offline over MQTT: pending until it connects

    expect(await switchTransport(deps, "SN2", "mqtt")).toEqual({ requeued: 0 });
    expect(await switchTransport(deps, "SN2", "http")).toEqual({ requeued: 0 });
    expect(queue.messages).toEqual([]);
    expect(store.items.get("SN2/c1")?.status).toBe("pending");
  });
});
