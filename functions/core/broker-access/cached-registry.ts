import type { Clock } from "../ports.ts";
import type { DeviceIdentity, DeviceRegistry } from "./registry.ts";

/** How long an HTTP device's registry entry is trusted per warm function: bounds revocation and read cost. */
export const HTTP_DEVICE_CACHE_MS = 30_000;

/**
 * The registry with `find` remembered for `ttlMs` (absences too). For HTTP devices, which present their
 * token on every request: a punch should not cost a registry read, and a revocation takes effect within
 * `ttlMs`. Broker logins use the registry directly (one read per CONNECT).
 */
export function cachedDeviceRegistry(registry: DeviceRegistry, clock: Clock, ttlMs = HTTP_DEVICE_CACHE_MS) {
  const cache = new Map<string, { identity: DeviceIdentity | undefined; until: number }>();
  const forget = (sn: string) => cache.delete(sn);
  const cached: DeviceRegistry = {
    async find(sn) {
      const hit = cache.get(sn);
      if (hit && hit.until > clock.now().getTime()) return hit.identity;
      const identity = await registry.find(sn);
      cache.set(sn, { identity, until: clock.now().getTime() + ttlMs });
      return identity;
    },
    registerIfAbsent: (identity) => registry.registerIfAbsent(identity).finally(() => forget(identity.sn)),
    recordLogin: (sn, at) => registry.recordLogin(sn, at).finally(() => forget(sn)),
    rotate: (sn, at) => registry.rotate(sn, at).finally(() => forget(sn)),
    setEnabled: (sn, enabled, at) => registry.setEnabled(sn, enabled, at).finally(() => forget(sn)),
  };
  return cached;
}
