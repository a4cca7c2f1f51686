import { EmqxAuthError, EmqxConfigurationError } from "../../core/commands/errors.ts";
import type { DevicePublisher, PublishItemResult, PublishRequest } from "../../core/commands/ports.ts";
import { withCurrentSignal } from "../../core/deadline.ts";
import { TransientError } from "../../core/errors.ts";

export interface EmqxApiOptions {
  /** e.g. `https://emqx.example.com:18083/api/v5` */
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
  timeoutMs?: number;
}

/** EMQX's `POST /api/v5/publish/bulk` (docs/emqx.md §8.3), Basic auth with an API key. */
export class EmqxPublishClient implements DevicePublisher {
  private readonly authorization: string;

  constructor(private readonly options: EmqxApiOptions) {
    this.authorization = `Basic ${Buffer.from(`${options.apiKey}:${options.apiSecret}`).toString("base64")}`;
  }

  async publishBulk(
    requests: PublishRequest[],
  ): Promise<{ rejected: false; results: PublishItemResult[] } | { rejected: true; message: string }> {
    // EMQX answers an empty bulk with a 500 (a typo in its code); there is nothing to send anyway.
    if (requests.length === 0) return { rejected: false, results: [] };
    const response = await this.post("/publish/bulk", requests);
    const body = await response.json().catch(() => undefined);
    if (response.status === 401 || response.status === 403) {
      throw new EmqxAuthError(
        `EMQX refused the API key (${response.status}): check EMQX_API_KEY / EMQX_API_SECRET`,
      );
    }
    if (response.status === 404) {
      throw new EmqxConfigurationError(
        `EMQX has no publish API at ${this.options.baseUrl}/publish/bulk (404): check EMQX_API_URL`,
      );
    }
    if (response.status === 400) return { rejected: true, message: describe(body) };
    if (response.status >= 500 && !Array.isArray(body)) {
      throw new TransientError(`EMQX answered ${response.status}: ${describe(body)}`);
    }
    if (!Array.isArray(body))
      throw new TransientError(`EMQX answered ${response.status} without per-message results`);
    return { rejected: false, results: body.map(toItemResult) };
  }

  private async post(path: string, body: unknown): Promise<Response> {
    try {
      return await fetch(`${this.options.baseUrl}${path}`, {
        method: "POST",
        headers: { authorization: this.authorization, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: withCurrentSignal(AbortSignal.timeout(this.options.timeoutMs ?? 5_000)),
      });
    } catch (error) {
      throw new TransientError(`EMQX at ${this.options.baseUrl} is unreachable: ${(error as Error).message}`);
    }
  }
}

function toItemResult(item: unknown): PublishItemResult {
  const entry = (item ?? {}) as { id?: unknown; reason_code?: unknown; message?: unknown };
  if (typeof entry.id === "string") return { ok: true, messageId: entry.id };
  return {
    ok: false,
    reasonCode: typeof entry.reason_code === "number" ? entry.reason_code : 131,
    message: typeof entry.message === "string" ? entry.message : "unknown",
  };
}

function describe(body: unknown): string {
  const b = (body ?? {}) as { message?: unknown; code?: unknown; reason_code?: unknown };
  return [b.code, b.reason_code, b.message].filter((x) => x !== undefined).join(" ") || "no details";
}
