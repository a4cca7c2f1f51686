import { deriveDeviceToken } from "../../functions/core/device-token.ts";

/** The fleet secret of each local stack running in this process, by its broker's MQTT URL. */
const fleetSecrets = new Map<string, string>();

/**
 * Tells simulated devices which secret the device tokens of the broker at `mqttUrl` derive from, so that
 * any `SimulatedDevice` pointed at a local stack logs in as a provisioned device would (`npm start`, the
 * tests and the benchmarks all run with broker authentication on). Returns a function that forgets it.
 */
export function rememberFleetSecret(mqttUrl: string, secret: string | undefined): () => void {
  if (!secret) return () => undefined;
  fleetSecrets.set(mqttUrl, secret);
  return () => {
    if (fleetSecrets.get(mqttUrl) === secret) fleetSecrets.delete(mqttUrl);
  };
}

/** The MQTT password of device `sn` on the local stack at `mqttUrl`, or `undefined` when none is known. */
export function localDeviceToken(mqttUrl: string, sn: string): string | undefined {
  const secret = fleetSecrets.get(mqttUrl);
  return secret ? deriveDeviceToken(secret, sn) : undefined;
}
