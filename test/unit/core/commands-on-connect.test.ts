import { describe, expect, it } from "vitest";
import { recordPresenceAndRequeue } from "../../../functions/core/commands/requeue-on-connect.ts";
import { MemoryPresenceStore, withFaults } from "../../support/memory/index.ts";
import { commandWorld } from "./command-world.ts";

/** The command world with presence beside it, reading the store's hold marks as DynamoDB's read does. */
function fleet() {
  const world = commandWorld();
  const presence = withFaults(new MemoryPresenceStore((sn) => world.store.target.holds.has(sn)));
  const deps = { ...world.deps, presence: presence.port };
  const connect = (sn: string, at: number) =>
    recordPresenceAndRequeue(deps, sn, { kind: "connected", connectedAt: at });
  return { world, presence, connect };
}

describe("commands waiting for a device that comes online", () => {
  it("are queued again on its connect when the publisher found it offline, and then sent", async () => {
    const { world, connect } = fleet();
    await world.create("SN1", { id: "c1", op: "reboot" });
    await world.publish();
    expect(await world.status("SN1", "c1")).toBe("pending");

    world.emqx.target.online.add("SN1");
    await connect("SN1", 5_000);
    await world.publish();

    expect(await world.status("SN1", "c1")).toBe("sent");
    expect(world.announced("c1")).toEqual(["queued", "pending", "sent"]);
  });

  it("are not looked for on a connect when the device holds none: one read, one write, one send", async () => {
    const { world, presence, connect } = fleet();
    world.emqx.target.online.add("SN2");
    await world.create("SN2", { id: "c1", op: "ping" });
    await world.publish();
    expect(await world.status("SN2", "c1")).toBe("sent");

    await connect("SN2", 5_000);

    expect(world.store.count("listByStatus")).toBe(0);
    expect(presence.calls).toEqual(["read", "save"]);
    expect(world.events.ofType("presence")).toHaveLength(1);
  });
});
