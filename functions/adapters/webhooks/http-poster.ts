import { withCurrentSignal } from "../../core/deadline.ts";
import type { PostOutcome, WebhookPoster } from "../../core/webhooks/ports.ts";

const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * POSTs with `fetch`: 2xx is delivered; any other status, a redirect (never followed: a receiver must
 * not bounce our signed requests elsewhere), a network error or no answer within the timeout is a
 * failure. The error text names the status or the cause, never the URL (it may hold a token).
 */
export class HttpWebhookPoster implements WebhookPoster {
  constructor(private readonly timeoutMs = DEFAULT_TIMEOUT_MS) {}

  async post(url: string, body: string, headers: Record<string, string>): Promise<PostOutcome> {
    try {
      const response = await fetch(url, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "user-agent": "emqx-serverless-bridge", ...headers },
        redirect: "manual",
        signal: withCurrentSignal(AbortSignal.timeout(this.timeoutMs)),
      });
      // The answer's body means nothing to us; not reading it would keep the connection busy.
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
      return { ok: false, error: `HTTP ${response.status}` };
    } catch (error) {
      return { ok: false, error: describe(error, this.timeoutMs) };
    }
  }
}

function describe(error: unknown, timeoutMs: number): string {
  const name = (error as { name?: string })?.name;
  if (name === "TimeoutError" || name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}
