import {
  type BrokerSessions,
  type KickOutcome,
  unconfiguredBrokerSessions,
} from "../../core/broker-access/index.ts";
import { withCurrentSignal } from "../../core/deadline.ts";
import type { EmqxApiOptions } from "./publish-client.ts";

/** EMQX versions before 5.9 have no node caches and answer their reset paths with 404 (docs/emqx.md §10.7). */
const NODE_CACHE_RESETS = ["/authentication/node_cache/reset", "/authorization/node_cache/reset"];

/**
 * Per call. The caches are cleared in parallel, then the client is kicked: two calls' worth stays well
 * inside the API's 8 s deadline, so a slow broker still gets an answer that carries the new token.
 */
export const SESSIONS_TIMEOUT_MS = 2_000;

/**
 * EMQX's management API for ending sessions and clearing caches (docs/emqx.md §9.1, §10.7, §11.4), Basic
 * auth with an API key like the publisher's. On 5.9+ the key needs the `administrator` role: the
 * `publisher` role may only publish (docs/emqx.md §9.1).
 */
export class EmqxSessionsClient implements BrokerSessions {
  private readonly authorization: string;

  constructor(private readonly options: EmqxApiOptions) {
    this.authorization = `Basic ${Buffer.from(`${options.apiKey}:${options.apiSecret}`).toString("base64")}`;
  }

  /** `DELETE /clients/{clientid}`: 204 disconnected; 404 `CLIENTID_NOT_FOUND` when there is no session. */
  async kick(clientid: string): Promise<KickOutcome> {
    const path = `/clients/${encodeURIComponent(clientid)}`;
    const response = await this.call("DELETE", path);
    if (response.status !== 404) {
      await expectSuccess(response, path);
      return "disconnected";
    }
    const code = await codeOf(response);
    if (code === "CLIENTID_NOT_FOUND") return "not_connected";
    throw failure(response.status, code, path);
  }

  /** Every client's authorization cache, then both node caches where the version has them. */
  async clearCaches(): Promise<void> {
    const clearing = [
      this.call("DELETE", "/authorization/cache").then((r) => expectSuccess(r, "/authorization/cache")),
      ...NODE_CACHE_RESETS.map((path) =>
        this.call("POST", path).then((r) => (r.status === 404 ? r.body?.cancel() : expectSuccess(r, path))),
      ),
    ];
    const failures = (await Promise.allSettled(clearing)).filter((r) => r.status === "rejected");
    if (failures.length > 0) throw new Error(failures.map((f) => (f.reason as Error).message).join("; "));
  }

  private async call(method: "DELETE" | "POST", path: string): Promise<Response> {
    try {
      return await fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers: { authorization: this.authorization },
        signal: withCurrentSignal(AbortSignal.timeout(this.options.timeoutMs ?? SESSIONS_TIMEOUT_MS)),
      });
    } catch (error) {
      throw new Error(`EMQX at ${this.options.baseUrl} is unreachable: ${(error as Error).message}`);
    }
  }
}

/** EMQX's error `code` (`CLIENTID_NOT_FOUND`, `BAD_API_KEY_OR_SECRET`, …), if the body has one. */
async function codeOf(response: Response): Promise<string | undefined> {
  const body = (await response.json().catch(() => undefined)) as { code?: unknown } | undefined;
  return typeof body?.code === "string" ? body.code : undefined;
}

async function expectSuccess(response: Response, path: string): Promise<void> {
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  throw failure(response.status, await codeOf(response), path);
}

function failure(status: number, code: string | undefined, path: string): Error {
  const hints: Record<number, string> = {
    401: " (check the API's EMQX_API_KEY / EMQX_API_SECRET)",
    403: " (on EMQX 5.9+ the API's key needs the administrator role)",
    404: " (check EMQX_API_URL: it must end in /api/v5)",
  };
  return new Error(`EMQX answered ${status}${code ? ` ${code}` : ""} to ${path}${hints[status] ?? ""}`);
}

/**
 * The API's broker sessions from its configuration: EMQX's management API when all three settings are
 * given, none when none is (answers then say that nothing was kicked); a partial set fails the cold start.
 */
export function brokerSessionsFromConfig(config: {
  EMQX_API_URL?: string | undefined;
  EMQX_API_KEY?: string | undefined;
  EMQX_API_SECRET?: string | undefined;
}): BrokerSessions {
  const { EMQX_API_URL: baseUrl, EMQX_API_KEY: apiKey, EMQX_API_SECRET: apiSecret } = config;
  if (!baseUrl && !apiKey && !apiSecret) return unconfiguredBrokerSessions;
  if (!baseUrl || !apiKey || !apiSecret) {
    throw new Error("invalid configuration: EMQX_API_URL, EMQX_API_KEY and EMQX_API_SECRET go together");
  }
  return new EmqxSessionsClient({ baseUrl: baseUrl.replace(/\/+$/, ""), apiKey, apiSecret });
}
