import { createIngestApp } from "../../functions/ingest/app.ts";
import type { IngestDeps } from "../../functions/ingest/types.ts";
import { serveApp } from "../../local/services/http-server.ts";
import { silentLogger } from "./resources.ts";

export const TOKEN = "test-token-0123456789abcdef";
export const SECOND_TOKEN = "rotated-token-fedcba9876543210";

/** The ingest app over a real socket, the way EMQX reaches it. */
export async function startIngest(
  deps: IngestDeps,
  overrides: { deadlineMs?: number; maxBodyBytes?: number } = {},
) {
  const app = createIngestApp(deps, {
    tokens: [TOKEN, SECOND_TOKEN],
    deadlineMs: overrides.deadlineMs ?? 8_000,
    maxBodyBytes: overrides.maxBodyBytes ?? 256 * 1024,
    logger: silentLogger(),
  });
  const server = await serveApp(app.fetch);
  const post = async (body: unknown, token = TOKEN) => {
    const response = await fetch(`${server.url}/emqx/rule-events`, {
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
  return { ...server, post };
}
