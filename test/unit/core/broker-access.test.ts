import { describe, expect, it } from "vitest";
import {
  authenticateBrokerClient,
  authenticateDevice,
  type BrokerAccessOptions,
  cachedDeviceRegistry,
  HTTP_DEVICE_CACHE_MS,
  revokeDevice,
} from "../../../functions/core/broker-access/index.ts";
import { deriveDeviceToken } from "../../../functions/core/device-token.ts";
import {
  FakeClock,
  MemoryApiKeyStore,
  MemoryBrokerSessions,
  MemoryDeviceRegistry,
  withFaults,
} from "../../support/memory/index.ts";

const SECRET = "a-device-token-secret-of-32-chars!!";
const OPEN: BrokerAccessOptions = { registration: "open", sessionLifetimeSeconds: 3600 };

function world() {
  const clock = new FakeClock();
  const registry = new MemoryDeviceRegistry();
  const keys = new MemoryApiKeyStore();
  const sessions = withFaults(new MemoryBrokerSessions());
  const access = { devices: registry, keys, deviceTokenSecrets: [SECRET], clock };
  const admin = { devices: registry, sessions: sessions.port, clock };
  return { clock, registry, keys, sessions, access, admin };
}

const device = (sn: string) => ({ clientid: sn, username: sn, password: deriveDeviceToken(SECRET, sn, 0) });

describe("HTTP devices' cached registry", () => {
  it("refuses a revoked device once the cache's time has passed on the clock, and costs one read until then", async () => {
    const { clock, registry, access, admin } = world();
    const cached = { ...access, devices: cachedDeviceRegistry(registry, clock) };
    // The first login registers the device (and forgets the absence it cached); the second caches the entry.
    for (let login = 0; login < 2; login++) {
      expect(await authenticateDevice(cached, OPEN, device("SN1"))).toMatchObject({ result: "allow" });
    }

    // Another function instance revokes the device; this one still trusts its cached entry.
    await revokeDevice(admin, "SN1");
    const readsBefore = registry.reads;
    expect(await authenticateDevice(cached, OPEN, device("SN1"))).toMatchObject({ result: "allow" });
    expect(registry.reads).toBe(readsBefore);

    clock.advance(HTTP_DEVICE_CACHE_MS);
    expect(await authenticateDevice(cached, OPEN, device("SN1"))).toEqual({
      result: "deny",
      reason: "device_disabled",
    });
  });

  it("forgets an entry this instance changed at once", async () => {
    const { clock, registry, access } = world();
    const devices = cachedDeviceRegistry(registry, clock);
    const cached = { ...access, devices };
    for (let login = 0; login < 2; login++) await authenticateDevice(cached, OPEN, device("SN1"));

    await devices.setEnabled("SN1", false, clock.iso());

    expect(await authenticateDevice(cached, OPEN, device("SN1"))).toMatchObject({
      reason: "device_disabled",
    });
  });
});

describe("application logins with keys from the table", () => {
  it("lets an app in with a key it was issued, and refuses it once revoked", async () => {
    const { keys, access } = world();
    const key = keys.issue("dashboard", ["read"]);
    const login = { clientid: "dashboard/1", username: "dashboard", password: key };

    expect(await authenticateBrokerClient(access, OPEN, login)).toMatchObject({
      result: "allow",
      identity: { kind: "app", keyId: "dashboard", scopes: ["read"] },
    });
    keys.revoke("dashboard");
    expect(await authenticateBrokerClient(access, OPEN, login)).toEqual({
      result: "deny",
      reason: "bad_credentials",
    });
  });

  it("bounds a session by the lifetime on the clock", async () => {
    const { clock, keys, access } = world();
    const key = keys.issue("dashboard", ["read"]);
    clock.advance(90_000);

    const decision = await authenticateBrokerClient(access, OPEN, {
      clientid: "dashboard",
      username: "dashboard",
      password: key,
    });

    expect(decision).toMatchObject({ expireAt: Date.parse("2026-11-22T08:01:30.000Z") / 1000 + 3600 });
  });
});

describe("revoking a device on the broker", () => {
  it("kicks a connected device after clearing the caches", async () => {
    const { sessions, admin } = world();
    sessions.target.connected.add("SN1");

    const { broker } = await revokeDevice(admin, "SN1");

    expect(broker).toEqual({ kicked: true, wasConnected: true, cachesCleared: true });
    expect(sessions.calls).toEqual(["clearCaches", "kick"]);
    expect(sessions.target.connected.has("SN1")).toBe(false);
  });

  it("keeps the revocation when the broker cannot be reached, and says so", async () => {
    const { registry, sessions, admin } = world();
    sessions.failNext("clearCaches");
    sessions.failNext("kick");

    const { identity, broker } = await revokeDevice(admin, "SN1");

    expect(identity.enabled).toBe(false);
    expect((await registry.find("SN1"))?.enabled).toBe(false);
    expect(broker).toMatchObject({
      kicked: false,
      cachesCleared: false,
      warning: expect.stringContaining("stored"),
    });
  });
});
