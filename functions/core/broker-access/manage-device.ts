import { deriveDeviceToken } from "../device-token.ts";
import type { Clock } from "../ports.ts";
import type { DeviceIdentity, DeviceRegistry } from "./registry.ts";
import type { BrokerSessions } from "./sessions.ts";

export interface DeviceAdminDeps {
  devices: DeviceRegistry;
  sessions: BrokerSessions;
  clock: Clock;
}

/**
 * What happened on the broker after a registry change. The change itself is stored before the broker is
 * asked, so a broker that cannot be reached never loses it: `kicked: false` and a `warning` say what is
 * still pending, and repeating the request (idempotent) asks again.
 */
export interface BrokerCutOff {
  /** EMQX confirmed that the device has no live session now (it was disconnected, or had none). */
  kicked: boolean;
  /** Whether EMQX had a session to end; absent when it could not be asked or was not meant to be. */
  wasConnected?: boolean;
  /** EMQX's authentication and authorization caches were cleared. */
  cachesCleared: boolean;
  warning?: string;
}

/** The rotated identity, its new token (shown once, never stored), and what the broker did. */
export interface RotatedCredentials {
  identity: DeviceIdentity;
  token: string;
  broker: BrokerCutOff;
}

/**
 * Moves `sn` to its next credential generation (registering it as an operator's device when it has no
 * entry) and derives the new token from `secret`, the first of the fleet's secrets. Every older token is
 * refused from the next login on; with `kick` (the default) the live MQTT session is ended now, without it
 * the session may stay until its lifetime ends, e.g. to hand the new token to the device over it.
 *
 * @example
 * const { identity, token } = await rotateDeviceCredentials(deps, secret, "SN0001");
 * // identity.generation === 1, token === deriveDeviceToken(secret, "SN0001", 1)
 */
export async function rotateDeviceCredentials(
  deps: DeviceAdminDeps,
  secret: string,
  sn: string,
  options: { kick?: boolean } = {},
): Promise<RotatedCredentials> {
  const identity = await deps.devices.rotate(sn, deps.clock.now().toISOString());
  const token = deriveDeviceToken(secret, sn, identity.generation);
  return { identity, token, broker: await cutOff(deps.sessions, sn, options.kick ?? true) };
}

/**
 * Disables `sn`: its next login is refused (HTTP devices within their registry cache, 30 s), and its live
 * session is kicked. A device without an entry gets a disabled one, so it cannot register itself later.
 */
export async function revokeDevice(deps: DeviceAdminDeps, sn: string) {
  const identity = await storeEnabled(deps, sn, false);
  return { identity, broker: await cutOff(deps.sessions, sn, true) };
}

/**
 * Enables `sn` again, or registers it (generation 0: the token derived from the fleet secret) when it has
 * no entry: how an operator admits a device under `DEVICE_REGISTRATION=required`.
 */
export async function enableDevice(deps: DeviceAdminDeps, sn: string) {
  return { identity: await storeEnabled(deps, sn, true) };
}

async function storeEnabled(deps: DeviceAdminDeps, sn: string, enabled: boolean): Promise<DeviceIdentity> {
  const at = deps.clock.now().toISOString();
  const updated = await deps.devices.setEnabled(sn, enabled, at);
  if (updated) return updated;
  const entry: DeviceIdentity = { sn, enabled, generation: 0, createdAt: at, registeredBy: "operator" };
  await deps.devices.registerIfAbsent({ ...entry, updatedAt: at });
  // Set again: a first login may have registered the device, enabled, between the two calls.
  return (await deps.devices.setEnabled(sn, enabled, at)) ?? entry;
}

/**
 * Clears the caches first, then kicks: the kicked device reconnects at once, and that login must reach the
 * bridge instead of a cached allow (on EMQX 6.2+ the authentication node cache is on by default).
 */
async function cutOff(sessions: BrokerSessions, sn: string, kick: boolean): Promise<BrokerCutOff> {
  const problems: string[] = [];
  const cachesCleared = await sessions.clearCaches().then(
    () => true,
    (error) => note(problems, "clearing EMQX's caches", error),
  );
  if (!kick) return finish({ kicked: false, cachesCleared }, problems);
  const outcome = await sessions.kick(sn).catch((error) => {
    note(problems, "disconnecting the device", error);
    return undefined;
  });
  if (!outcome) return finish({ kicked: false, cachesCleared }, problems);
  return finish({ kicked: true, wasConnected: outcome === "disconnected", cachesCleared }, problems);
}

function note(problems: string[], step: string, error: unknown): false {
  problems.push(`${step} failed: ${error instanceof Error ? error.message : String(error)}`);
  return false;
}

function finish(cutOff: BrokerCutOff, problems: string[]): BrokerCutOff {
  if (problems.length === 0) return cutOff;
  const pending =
    "the change is stored; a live session ends at the latest when its lifetime (BROKER_SESSION_LIFETIME_S) " +
    "runs out, cached answers within a minute. Repeat the request to try again";
  return { ...cutOff, warning: `${problems.join("; ")}. ${pending}` };
}
