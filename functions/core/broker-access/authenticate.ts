import * as v from "valibot";
import { API_KEY_PREFIX, ApiKeyName, type ApiKeyStore, hashApiKey } from "../api-keys.ts";
import { deviceTokenGeneration } from "../device-token.ts";
import type { Clock } from "../ports.ts";
import { SerialNumber } from "../schemas/common.ts";
import { appAcl, deviceAcl } from "./acl.ts";
import {
  type DeviceIdentity,
  type DeviceRegistry,
  LOGIN_RECORD_INTERVAL_MS,
  type RegistrationPolicy,
} from "./registry.ts";
import type { AclRule, BrokerDecision, BrokerIdentity, BrokerLogin, DenyReason } from "./types.ts";

/** Decides one login of its kind (device or application). */
type Authenticator = (
  deps: BrokerAccessDeps,
  options: BrokerAccessOptions,
  login: BrokerLogin,
) => Promise<BrokerDecision>;

/** An app may hold several connections: client id = key id, or key id + `/` + a short suffix. */
const APP_CLIENT_SUFFIX = /^(\/[-_0-9a-zA-Z]{0,36})?$/;

export interface BrokerAccessDeps {
  devices: DeviceRegistry;
  keys: ApiKeyStore;
  deviceTokenSecrets: readonly string[];
  clock: Clock;
}

export interface BrokerAccessOptions {
  registration: RegistrationPolicy;
  /** How long a session may live before EMQX disconnects it and it must log in again (and re-read its ACL). */
  sessionLifetimeSeconds: number;
}

/**
 * Decides one MQTT CONNECT for EMQX's HTTP authenticator: a device (client id = username = serial number,
 * password = its device token) or an application (username = API key id, password = the key, client id
 * = key id or `keyid/suffix`). An allow carries the identity's ACL with literal topics and an `expireAt`
 * that bounds the session; anything else is a deny with the reason, for the bridge's log only.
 *
 * Costs: a token that fails its HMAC is denied without a read; a device login reads the registry once.
 */
export async function authenticateBrokerClient(
  deps: BrokerAccessDeps,
  options: BrokerAccessOptions,
  login: BrokerLogin,
): Promise<BrokerDecision> {
  if (login.password.startsWith(API_KEY_PREFIX)) return authenticateApp(deps, options, login);
  return authenticateDevice(deps, options, login);
}

/**
 * A device's login alone (an API key never passes here): what HTTP devices are checked with, so the same
 * token, registry and first-login registration serve both transports.
 */
export const authenticateDevice: Authenticator = async (deps, options, login) => {
  const sn = login.username;
  if (!v.is(SerialNumber, sn)) return deny("malformed_login");
  if (login.clientid !== sn) return deny("clientid_mismatch");
  const generation = deviceTokenGeneration(deps.deviceTokenSecrets, sn, login.password);
  if (generation === undefined) return deny("bad_credentials");
  const identity = await deps.devices.find(sn);
  const refusal = refusalOf(identity, generation, options.registration);
  if (refusal) return deny(refusal);
  await noteLogin(deps, sn, identity);
  return allow(deps, options, { kind: "device", sn, generation }, deviceAcl(sn));
};

function refusalOf(
  identity: DeviceIdentity | undefined,
  generation: number,
  registration: RegistrationPolicy,
): DenyReason | undefined {
  if (!identity) {
    if (registration === "required") return "device_not_registered";
    // Only the original derived token may register a device; a re-keyed token without an entry is forged.
    return generation === 0 ? undefined : "stale_credentials";
  }
  if (!identity.enabled) return "device_disabled";
  return identity.generation === generation ? undefined : "stale_credentials";
}

async function noteLogin(deps: BrokerAccessDeps, sn: string, identity: DeviceIdentity | undefined) {
  const now = deps.clock.now();
  const at = now.toISOString();
  if (!identity) {
    await deps.devices.registerIfAbsent({
      sn,
      enabled: true,
      generation: 0,
      createdAt: at,
      registeredBy: "first_login",
      lastLoginAt: at,
    });
    return;
  }
  const last = identity.lastLoginAt ? Date.parse(identity.lastLoginAt) : 0;
  if (now.getTime() - last >= LOGIN_RECORD_INTERVAL_MS) await deps.devices.recordLogin(sn, at);
}

const authenticateApp: Authenticator = async (deps, options, login) => {
  const keyId = login.username;
  // An app's key id is its key's name, which is a topic level (ApiKeyName).
  if (!v.is(ApiKeyName, keyId)) return deny("malformed_login");
  if (!login.clientid.startsWith(keyId) || !APP_CLIENT_SUFFIX.test(login.clientid.slice(keyId.length))) {
    return deny("clientid_mismatch");
  }
  const key = await deps.keys.find(hashApiKey(login.password));
  if (!key || key.name !== keyId) return deny("bad_credentials");
  // A bare key id shares the client id space with serial numbers: never let an app take a device's session.
  if (login.clientid === keyId && (await deps.devices.find(keyId))) return deny("clientid_mismatch");
  return allow(deps, options, { kind: "app", keyId, scopes: key.scopes }, appAcl(keyId, key.scopes));
};

/** An allow for `identity`, its session bounded by the configured lifetime from now. */
function allow(
  deps: BrokerAccessDeps,
  options: BrokerAccessOptions,
  identity: BrokerIdentity,
  acl: AclRule[],
): BrokerDecision {
  const expireAt = Math.floor(deps.clock.now().getTime() / 1000) + options.sessionLifetimeSeconds;
  return { result: "allow", identity, expireAt, acl };
}

function deny(reason: DenyReason): BrokerDecision {
  return { result: "deny", reason };
}
