import * as v from "valibot";

/**
 * One device's entry in the registry: whether it may log in, and which credential generation is current
 * (see `deriveDeviceToken`; older generations are refused). `registeredBy` tells whether a valid derived
 * token created it on its first login or an operator did. `lastLoginAt` is written at most once per
 * {@link LOGIN_RECORD_INTERVAL_MS}, so a reconnect storm costs no writes.
 */
export const DeviceIdentitySchema = v.object({
  sn: v.string(),
  enabled: v.boolean(),
  generation: v.pipe(v.number(), v.integer(), v.minValue(0)),
  createdAt: v.string(),
  registeredBy: v.picklist(["first_login", "operator"]),
  lastLoginAt: v.optional(v.string()),
  updatedAt: v.optional(v.string()),
});
export type DeviceIdentity = v.InferOutput<typeof DeviceIdentitySchema>;

/** How often a login is written down; between two, the registry is only read. */
export const LOGIN_RECORD_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Whether a device must be registered by an operator before it may connect (`required`), or whether a
 * valid generation-0 token registers it on its first login (`open`, the default: every device that holds
 * a token derived from the fleet secret was provisioned by whoever holds that secret).
 */
export type RegistrationPolicy = "open" | "required";

/** The device registry, a port: one eventually consistent read per login. */
export interface DeviceRegistry {
  find(sn: string): Promise<DeviceIdentity | undefined>;
  /** Stores `identity` unless an entry exists (a concurrent first login, or an operator, won). */
  registerIfAbsent(identity: DeviceIdentity): Promise<void>;
  recordLogin(sn: string, at: string): Promise<void>;
  /** Moves the device to the next generation (creating an enabled entry when there is none). */
  rotate(sn: string, at: string): Promise<DeviceIdentity>;
  /** `undefined` when the device is not registered. */
  setEnabled(sn: string, enabled: boolean, at: string): Promise<DeviceIdentity | undefined>;
}
