import { beforeEach, describe, expect, it } from "vitest";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import { takeNextCommand } from "../../functions/core/commands/next-for-device.ts";
import { publishCommands } from "../../functions/core/commands/publish-commands.ts";
import { requeuePending } from "../../functions/core/commands/requeue-pending.ts";
import { HTTP_POLL_REASON } from "../../functions/core/device-transport.ts";
import { updateShadow } from "../../functions/core/shadow/update-shadow.ts";
import {
  FakeClock,
  MemoryCommandQueue,
  MemoryDevicePublisher,
  MemoryEventQueue,
  TransportAwareCommandStore,
} from "../support/memory/index.ts";
import { MemoryShadowStore } from "../support/memory-shadow.ts";

let clock: FakeClock;
let commands: TransportAwareCommandStore;
let queue: MemoryCommandQueue;
let publisher: MemoryDevicePublisher;
let deps: {
  commands: TransportAwareCommandStore;
  queue: MemoryCommandQueue;
  events: MemoryEventQueue;
  clock: FakeClock;
  publisher: MemoryDevicePublisher;
  shadows: MemoryShadowStore;
};

beforeEach(() => {
  clock = new FakeClock();
  commands = new TransportAwareCommandStore();
  queue = new MemoryCommandQueue(clock);
  publisher = new MemoryDevicePublisher();
  deps = {
    commands,
    queue,
    events: new MemoryEventQueue(),
    clock,
    publisher,
    shadows: new MemoryShadowStore(),
  };
});

/** One publisher run over everything on the queue, settled as the Lambda event source would. */
async function publishQueued() {
  const batch = queue.receive(10);
  const report = await publishCommands(deps, batch);
  queue.settle(batch, report.failed);
  return report;
}

const status = (sn: string, id: string) => commands.items.get(`${sn}/${id}`);

describe("commands to HTTP-only devices", () => {
  it("wait as pending for the poll without any EMQX call, while MQTT devices' are published", async () => {
    commands.httpOnly.add("HTTP1");
    publisher.online.add("MQTT1");
    await createCommand(deps, "HTTP1", { id: "h1", op: "reboot" });
    await createCommand(deps, "MQTT1", { id: "m1", op: "reboot" });
    await publishQueued();
    expect(status("HTTP1", "h1")).toMatchObject({ status: "pending", reason: HTTP_POLL_REASON });
    expect(status("MQTT1", "m1")?.status).toBe("sent");
    expect(publisher.calls.flat().map((request) => request.topic)).toEqual(["api/mqtt/v1/MQTT1/cmd"]);
    // It waits for a poll, not a connect: the device's presence signals need not look for it.
    expect(commands.waiting.has("HTTP1")).toBe(false);
    expect((await takeNextCommand(deps, "HTTP1"))?.id).toBe("h1");
    expect(status("HTTP1", "h1")?.status).toBe("delivered");
  });

  it("still expire by their TTL: the poll turns them expired instead of handing them over", async () => {
    commands.httpOnly.add("HTTP2");
    await createCommand(deps, "HTTP2", { id: "h2", op: "reboot", ttlSeconds: 60 });
    await publishQueued();
    clock.advance(61_000);
    expect(await takeNextCommand(deps, "HTTP2")).toBeUndefined();
    expect(status("HTTP2", "h2")?.status).toBe("expired");
  });
});

describe("shadow deltas through the command pipeline", () => {
  it("keeps an offline device's delta pending and publishes only the newest on shadow/delta when it comes online", async () => {
    await updateShadow(deps, "SN1", { section: "desired", patch: { fan: true } });
    await publishQueued();
    expect(status("SN1", "shadow-delta-1")?.status).toBe("pending");
    await updateShadow(deps, "SN1", { section: "desired", patch: { level: 2 } });
    await publishQueued();
    publisher.online.add("SN1");
    await requeuePending(deps, "SN1", "online-1");
    await publishQueued();
    const published = publisher.calls
      .flat()
      .filter((request) => request.properties.user_properties.command_id);
    const last = published.at(-1);
    expect(last?.topic).toBe("api/mqtt/v1/SN1/shadow/delta");
    expect(JSON.parse(last?.payload ?? "{}")).toEqual({ version: 2, state: { fan: true, level: 2 } });
    expect(publisher.delivered("SN1")).toEqual(["shadow-delta-2"]);
    expect(status("SN1", "shadow-delta-1")?.status).toBe("expired");
  });

  it("waits for the poll when the device is HTTP-only, and the poll hands the delta over", async () => {
    commands.httpOnly.add("HTTP3");
    await updateShadow(deps, "HTTP3", { section: "desired", patch: { mode: "eco" } });
    await publishQueued();
    expect(publisher.calls).toEqual([]);
    expect(await takeNextCommand(deps, "HTTP3")).toMatchObject({
      op: "shadow_delta",
      data: { version: 1, state: { mode: "eco" } },
    });
  });
});
