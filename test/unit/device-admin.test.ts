import { describe, expect, it } from "vitest";
import { StaticApiKeyStore } from "../../functions/core/api-keys.ts";
import {
  authenticateBrokerClient,
  type BrokerSessions,
  enableDevice,
  type KickOutcome,
  revokeDevice,
  rotateDeviceCredentials,
  unconfiguredBrokerSessions,
} from "../../functions/core/broker-access/index.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { FakeClock, MemoryDeviceRegistry } from "../support/memory/index.ts";

const SECRET = "a-device-token-secret-of-32-chars!!";

/** The broker in memory: which clients are connected, what it was asked, and whether it answers at all. */
class MemoryBrokerSessions implements BrokerSessions {
  readonly connected = new Set<string>();
  readonly calls: string[] = [];
  down = false;

  async kick(clientid: string): Promise<KickOutcome> {
    this.calls.push(`kick ${clientid}`);
    if (this.down) throw new Error("EMQX at http://emqx is unreachable: connect ECONNREFUSED");
    return this.connected.delete(clientid) ? "disconnected" : "not_connected";
  }

  async clearCaches(): Promise<void> {
    this.calls.push("clear caches");
    if (this.down) throw new Error("EMQX at http://emqx is unreachable: connect ECONNREFUSED");
  }
}

function setup() {
  const devices = new MemoryDeviceRegistry();
  const sessions = new MemoryBrokerSessions();
  const clock = new FakeClock();
  const deps = { devices, sessions, clock };
  const brokerDeps = { devices, keys: new StaticApiKeyStore([]), deviceTokenSecrets: [SECRET], clock };
  /** An MQTT login of `sn` with `password`, as EMQX would ask the ingest. */
  const login = async (sn: string, password: string) =>
    (
      await authenticateBrokerClient(
        brokerDeps,
        { registration: "open", sessionLifetimeSeconds: 3600 },
        { clientid: sn, username: sn, password },
      )
    ).result;
  return { devices, sessions, clock, deps, login };
}

describe("rotateDeviceCredentials", () => {
  it("moves the device to its next generation: the new token logs in, the old one is refused", async () => {
    const { deps, login, sessions } = setup();
    expect(await login("SN1", deriveDeviceToken(SECRET, "SN1"))).toBe("allow");
    sessions.connected.add("SN1");
    const rotated = await rotateDeviceCredentials(deps, SECRET, "SN1");
    expect(rotated.identity).toMatchObject({ sn: "SN1", generation: 1, enabled: true });
    expect(rotated.token).toBe(deriveDeviceToken(SECRET, "SN1", 1));
    expect(await login("SN1", deriveDeviceToken(SECRET, "SN1"))).toBe("deny");
    expect(await login("SN1", rotated.token)).toBe("allow");
    expect(rotated.broker).toEqual({ kicked: true, wasConnected: true, cachesCleared: true });
    expect(sessions.connected.has("SN1")).toBe(false);
  });

  it("registers an unknown device as the operator's, at generation 1", async () => {
    const { deps, clock } = setup();
    const { identity } = await rotateDeviceCredentials(deps, SECRET, "SN-NEW");
    expect(identity).toMatchObject({
      generation: 1,
      enabled: true,
      registeredBy: "operator",
      createdAt: clock.now().toISOString(),
    });
  });

  it("clears the caches before the kick, so the device's reconnect is asked about afresh", async () => {
    const { deps, sessions } = setup();
    await rotateDeviceCredentials(deps, SECRET, "SN1");
    expect(sessions.calls).toEqual(["clear caches", "kick SN1"]);
  });

  it("leaves the live session alone when asked to (the new token can be delivered over it)", async () => {
    const { deps, sessions } = setup();
    sessions.connected.add("SN1");
    const { broker } = await rotateDeviceCredentials(deps, SECRET, "SN1", { kick: false });
    expect(broker).toEqual({ kicked: false, cachesCleared: true });
    expect(sessions.calls).toEqual(["clear caches"]);
    expect(sessions.connected.has("SN1")).toBe(true);
  });

  it("keeps the new generation when EMQX cannot be reached, and says what is pending", async () => {
    const { deps, devices, sessions } = setup();
    sessions.down = true;
    const rotated = await rotateDeviceCredentials(deps, SECRET, "SN1");
    expect((await devices.find("SN1"))?.generation).toBe(1);
    expect(rotated.token).toBe(deriveDeviceToken(SECRET, "SN1", 1));
    expect(rotated.broker).toMatchObject({ kicked: false, cachesCleared: false });
    expect(rotated.broker.wasConnected).toBeUndefined();
    expect(rotated.broker.warning).toMatch(
      /disconnecting the device failed: EMQX at http:\/\/emqx is unreachable/,
    );
    expect(rotated.broker.warning).toMatch(/clearing EMQX's caches failed/);
    expect(rotated.broker.warning).toMatch(/the change is stored.*Repeat the request/);
  });
});

describe("revokeDevice", () => {
  it("refuses the device's next login at once and kicks its live session", async () => {
    const { deps, login, sessions, clock } = setup();
    const token = deriveDeviceToken(SECRET, "SN1");
    expect(await login("SN1", token)).toBe("allow");
    sessions.connected.add("SN1");
    clock.advance(5_000);
    const { identity, broker } = await revokeDevice(deps, "SN1");
    expect(identity).toMatchObject({ enabled: false, generation: 0, registeredBy: "first_login" });
    expect(identity.updatedAt).toBe(clock.now().toISOString());
    expect(broker).toEqual({ kicked: true, wasConnected: true, cachesCleared: true });
    expect(await login("SN1", token)).toBe("deny");
  });

  it("answers kicked with wasConnected false when the device had no session (EMQX's 404)", async () => {
    const { deps } = setup();
    const { broker } = await revokeDevice(deps, "SN1");
    expect(broker).toEqual({ kicked: true, wasConnected: false, cachesCleared: true });
  });

  it("gives a device that never logged in a disabled entry, so it cannot register itself later", async () => {
    const { deps, login, devices } = setup();
    await revokeDevice(deps, "SN-NEVER");
    expect(await devices.find("SN-NEVER")).toMatchObject({ enabled: false, registeredBy: "operator" });
    expect(await login("SN-NEVER", deriveDeviceToken(SECRET, "SN-NEVER"))).toBe("deny");
  });

  it("stores the revocation when EMQX is down: kicked false, a warning, and a retry kicks", async () => {
    const { deps, login, sessions, devices } = setup();
    sessions.connected.add("SN1");
    sessions.down = true;
    const first = await revokeDevice(deps, "SN1");
    expect((await devices.find("SN1"))?.enabled).toBe(false);
    expect(first.broker).toMatchObject({ kicked: false, cachesCleared: false });
    expect(first.broker.warning).toContain("BROKER_SESSION_LIFETIME_S");
    expect(await login("SN1", deriveDeviceToken(SECRET, "SN1"))).toBe("deny");
    sessions.down = false;
    const retry = await revokeDevice(deps, "SN1");
    expect(retry.broker).toEqual({ kicked: true, wasConnected: true, cachesCleared: true });
  });

  it("says why nothing was kicked when the API has no broker configured", async () => {
    const { devices, clock } = setup();
    const { broker } = await revokeDevice({ devices, clock, sessions: unconfiguredBrokerSessions }, "SN1");
    expect(broker.kicked).toBe(false);
    expect(broker.warning).toContain("EMQX_API_URL");
    expect((await devices.find("SN1"))?.enabled).toBe(false);
  });
});

describe("enableDevice", () => {
  it("lets a revoked device log in again, with the same generation, and kicks nothing", async () => {
    const { deps, login, sessions } = setup();
    const { token } = await rotateDeviceCredentials(deps, SECRET, "SN1");
    await revokeDevice(deps, "SN1");
    sessions.calls.length = 0;
    const { identity } = await enableDevice(deps, "SN1");
    expect(identity).toMatchObject({ enabled: true, generation: 1 });
    expect(sessions.calls).toEqual([]);
    expect(await login("SN1", token)).toBe("allow");
  });

  it("registers an unknown device at generation 0 (admission under DEVICE_REGISTRATION=required)", async () => {
    const { deps, devices } = setup();
    const { identity } = await enableDevice(deps, "SN-ADMIT");
    expect(identity).toMatchObject({ enabled: true, generation: 0, registeredBy: "operator" });
    expect(await devices.find("SN-ADMIT")).toMatchObject({ enabled: true, generation: 0 });
  });
});
