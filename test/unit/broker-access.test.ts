import { describe, expect, it } from "vitest";
import { StaticApiKeyStore } from "../../functions/core/api-keys.ts";
import {
  authenticateBrokerClient,
  type BrokerAccessOptions,
} from "../../functions/core/broker-access/index.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { FakeClock, MemoryDeviceRegistry } from "../support/memory/index.ts";

const SECRET = "a-device-token-secret-of-32-chars!!";
const APP_KEY = "bk_app-key-for-the-dashboard-0123456789";
const READ_ONLY_KEY = "bk_a-key-that-may-only-read-0123456789";
const OPEN: BrokerAccessOptions = { registration: "open", sessionLifetimeSeconds: 3600 };

function setup(options: BrokerAccessOptions = OPEN) {
  const registry = new MemoryDeviceRegistry();
  const clock = new FakeClock();
  const keys = new StaticApiKeyStore([
    { name: "dashboard", key: APP_KEY, scopes: ["commands"] },
    { name: "viewer", key: READ_ONLY_KEY, scopes: ["read"] },
  ]);
  const deps = { devices: registry, keys, deviceTokenSecrets: [SECRET], clock };
  const login = (clientid: string, username: string, password: string) =>
    authenticateBrokerClient(deps, options, { clientid, username, password });
  return { registry, clock, login };
}

const token = (sn: string, generation = 0) => deriveDeviceToken(SECRET, sn, generation);

describe("device logins", () => {
  it("lets a device in with its own token and confines it to its own topics", async () => {
    const { login, clock } = setup();
    const decision = await login("SN7001", "SN7001", token("SN7001"));
    expect(decision).toMatchObject({ result: "allow", identity: { kind: "device", sn: "SN7001" } });
    if (decision.result !== "allow") return;
    expect(decision.expireAt).toBe(Math.floor(clock.now().getTime() / 1000) + 3600);
    expect(decision.acl).toEqual([
      {
        permission: "allow",
        action: "publish",
        topics: [
          "api/mqtt/v1/SN7001/evt",
          "api/mqtt/v1/SN7001/st",
          "api/mqtt/v1/SN7001/ack",
          "api/mqtt/v1/SN7001/shadow/update",
        ],
      },
      {
        permission: "allow",
        action: "subscribe",
        topics: ["api/mqtt/v1/SN7001/cmd", "api/mqtt/v1/SN7001/shadow/delta"],
      },
      { permission: "deny", action: "all", topics: ["#"] },
    ]);
  });

  it("refuses another device's client id, username or token", async () => {
    const { login } = setup();
    expect(await login("SN7001-tool", "SN7001", token("SN7001"))).toEqual({
      result: "deny",
      reason: "clientid_mismatch",
    });
    expect(await login("SN7002", "SN7002", token("SN7001"))).toEqual({
      result: "deny",
      reason: "bad_credentials",
    });
    expect(await login("SNOTHER", "SNOTHER", token("SNODD1"))).toEqual({
      result: "deny",
      reason: "bad_credentials",
    });
  });

  it("refuses client ids that could widen a topic, empty passwords and an API key used as a device token", async () => {
    const { login } = setup();
    for (const sn of ["+", "#", "SN/1", "SN 1", "SNé", "S".repeat(1000), ""]) {
      expect((await login(sn, sn, token("SN1"))).result, sn).toBe("deny");
    }
    expect((await login("SN1", "SN1", "")).result).toBe("deny");
    expect((await login("SN1", "SN1", APP_KEY)).result).toBe("deny");
  });

  it("costs no read for a token that fails its HMAC and one read for a good one", async () => {
    const { login, registry } = setup();
    const good = token("SN1");
    await login("SN1", "SN1", `${good[0] === "A" ? "B" : "A"}${good.slice(1)}`);
    expect(registry.reads).toBe(0);
    await login("SN1", "SN1", token("SN1"));
    expect(registry.reads).toBe(1);
  });

  it("registers a device on its first login and writes its logins at most once an hour", async () => {
    const { login, registry, clock } = setup();
    await login("SN1", "SN1", token("SN1"));
    expect(registry.entries.get("SN1")).toMatchObject({
      enabled: true,
      generation: 0,
      registeredBy: "first_login",
    });
    const writes = registry.writes;
    for (let i = 0; i < 5; i++) await login("SN1", "SN1", token("SN1"));
    expect(registry.writes).toBe(writes);
    clock.advance(60 * 60 * 1000);
    await login("SN1", "SN1", token("SN1"));
    expect(registry.writes).toBe(writes + 1);
  });

  it("refuses a disabled device, and a re-keyed device's old token while taking the new one", async () => {
    const { login, registry, clock } = setup();
    await login("SN1", "SN1", token("SN1"));
    await registry.rotate("SN1", clock.now().toISOString());
    expect(await login("SN1", "SN1", token("SN1"))).toEqual({ result: "deny", reason: "stale_credentials" });
    expect((await login("SN1", "SN1", token("SN1", 1))).result).toBe("allow");
    await registry.setEnabled("SN1", false, clock.now().toISOString());
    expect(await login("SN1", "SN1", token("SN1", 1))).toEqual({ result: "deny", reason: "device_disabled" });
  });

  it("refuses a re-keyed token for a device that was never registered", async () => {
    const { login } = setup();
    expect(await login("SN1", "SN1", token("SN1", 3))).toEqual({
      result: "deny",
      reason: "stale_credentials",
    });
  });

  it("requires an operator's registration when the policy says so", async () => {
    const { login, registry, clock } = setup({ ...OPEN, registration: "required" });
    expect(await login("SN1", "SN1", token("SN1"))).toEqual({
      result: "deny",
      reason: "device_not_registered",
    });
    await registry.rotate("SN1", clock.now().toISOString());
    expect((await login("SN1", "SN1", token("SN1", 1))).result).toBe("allow");
  });
});

describe("application logins", () => {
  it("lets an app in with its key, on its own id or id/suffix, with topics from its scopes", async () => {
    const { login } = setup();
    for (const clientid of ["dashboard", "dashboard/worker-1", "dashboard/"]) {
      const decision = await login(clientid, "dashboard", APP_KEY);
      expect(decision.result, clientid).toBe("allow");
      if (decision.result !== "allow") continue;
      expect(decision.acl.flatMap((rule) => rule.topics)).not.toContain("fleet/v1/#");
      expect(decision.acl[0]).toMatchObject({ action: "publish", topics: ["app/v1/dashboard/requests"] });
    }
    const viewer = await login("viewer", "viewer", READ_ONLY_KEY);
    expect(viewer.result === "allow" && viewer.acl).toContainEqual({
      permission: "allow",
      action: "subscribe",
      topics: ["fleet/v1/#"],
    });
  });

  it("refuses another app's id, a foreign client id, a long suffix and a device token as a key", async () => {
    const { login } = setup();
    expect((await login("viewer", "viewer", APP_KEY)).result).toBe("deny");
    expect((await login("dashboardX", "dashboard", APP_KEY)).result).toBe("deny");
    expect((await login("dashboard/+", "dashboard", APP_KEY)).result).toBe("deny");
    expect((await login(`dashboard/${"a".repeat(37)}`, "dashboard", APP_KEY)).result).toBe("deny");
    expect((await login("dashboard", "dashboard", deriveDeviceToken(SECRET, "viewer"))).result).toBe("deny");
  });

  it("refuses an app's bare key id as client id when a device of that serial number is registered", async () => {
    const { login } = setup();
    expect((await login("dashboard", "dashboard", token("dashboard"))).result).toBe("allow");
    expect(await login("dashboard", "dashboard", APP_KEY)).toEqual({
      result: "deny",
      reason: "clientid_mismatch",
    });
    expect((await login("dashboard/ui", "dashboard", APP_KEY)).result).toBe("allow");
  });
});
