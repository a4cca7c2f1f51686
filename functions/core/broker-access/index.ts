export { APP_ROOT, appAcl, deviceAcl, FEED_ROOT } from "./acl.ts";
export {
  authenticateBrokerClient,
  authenticateDevice,
  type BrokerAccessDeps,
  type BrokerAccessOptions,
} from "./authenticate.ts";
export { cachedDeviceRegistry, HTTP_DEVICE_CACHE_MS } from "./cached-registry.ts";
export {
  type BrokerCutOff,
  type DeviceAdminDeps,
  enableDevice,
  type RotatedCredentials,
  revokeDevice,
  rotateDeviceCredentials,
} from "./manage-device.ts";
export {
  type DeviceIdentity,
  DeviceIdentitySchema,
  type DeviceRegistry,
  LOGIN_RECORD_INTERVAL_MS,
  type RegistrationPolicy,
} from "./registry.ts";
export { type BrokerSessions, type KickOutcome, unconfiguredBrokerSessions } from "./sessions.ts";
export type { AclRule, BrokerDecision, BrokerIdentity, BrokerLogin, DenyReason } from "./types.ts";
export { DEFAULT_SESSION_LIFETIME_S } from "./types.ts";
