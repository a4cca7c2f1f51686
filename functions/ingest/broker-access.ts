import { DEFAULT_SESSION_LIFETIME_S } from "../core/broker-access/index.ts";
import type { IngestDeps, IngestOptions } from "./types.ts";

/** What broker logins and HTTP devices are checked against. */
export function brokerAccessDeps(deps: IngestDeps, options: IngestOptions) {
  return {
    devices: deps.devices,
    keys: deps.apiKeys,
    deviceTokenSecrets: options.deviceTokenSecrets,
    clock: deps.clock,
  };
}

/** Broker login settings, with their defaults. */
export function brokerAccessOptions(options: IngestOptions) {
  return {
    registration: options.registration ?? "open",
    sessionLifetimeSeconds: options.sessionLifetimeSeconds ?? DEFAULT_SESSION_LIFETIME_S,
    logger: options.logger,
  };
}
