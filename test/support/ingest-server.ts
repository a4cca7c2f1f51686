import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import type { BridgeMetrics } from "../../functions/core/metrics.ts";
import { createIngestApp } from "../../functions/ingest/app.ts";
import type { IngestDeps } from "../../functions/ingest/types.ts";
import { serveApp } from "../../local/services/http-server.ts";
import { silentLogger } from "./resources.ts";

export const TOKEN = "test-token-0123456789abcdef";
export const SECOND_TOKEN = "rotated-token-fedcba9876543210";
/** HTTP devices' token secrets: the current one and the one being rotated in. */
export const DEVICE_SECRET = "device-secret-0123456789abcdef0123456789";
export const SECOND_DEVICE_SECRET = "device-secret-rotated-fedcba9876543210fe";

/** The token of device `sn` under `secret` (the current test secret by default). */
export const deviceToken = (sn: string, secret = DEVICE_SECRET) => deriveDeviceToken(secret, sn);

export type Answer = { status: number; body: Record<string, unknown>; headers: Headers };

/** The ingest app over a real socket, the way EMQX and HTTP devices reach it. */
export async function startIngest(
  deps: IngestDeps,
  overrides: {
    deadlineMs?: number;
    maxBodyBytes?: number;
    deviceTokenSecrets?: string[];
    metrics?: BridgeMetrics;
  } = {},
) {
  const app = createIngestApp(deps, {
    tokens: [TOKEN, SECOND_TOKEN],
    deviceTokenSecrets: overrides.deviceTokenSecrets ?? [DEVICE_SECRET, SECOND_DEVICE_SECRET],
    deadlineMs: overrides.deadlineMs ?? 8_000,
    maxBodyBytes: overrides.maxBodyBytes ?? 256 * 1024,
    logger: silentLogger(),
    ...(overrides.metrics ? { metrics: overrides.metrics } : {}),
  });
  const server = await serveApp(app.fetch);
  const send = async (path: string, body: unknown, token: string): Promise<Answer> => {
    const response = await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      headers: response.headers,
    };
  };
  /** An EMQX rule event, as EMQX's HTTP action posts it. */
  const post = (body: unknown, token = TOKEN) => send("/emqx/rule-events", body, token);
  /**
   * What an HTTP device posts: `payload` (the MQTT payload, as text or as a value to serialize) on its
   * channel, with its own token unless another is given ("" for none).
   */
  const postDevice = (sn: string, channel: string, payload: unknown, token = deviceToken(sn)) =>
    send(`/v1/devices/${sn}/${channel}`, payload, token);
  return { ...server, post, postDevice };
}
