import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { verifyWebhook } from "../../functions/core/webhooks/signature.ts";
import { readSession } from "../session-file.ts";

/** One request the receiver got, as it got it. */
export interface ReceivedWebhook {
  headers: Record<string, string | undefined>;
  /** The raw body, byte for byte (decoded as UTF-8). */
  body: string;
  verified: boolean;
  /** Why the signature check failed. */
  reason?: string;
  /** Epoch ms when it arrived. */
  receivedAt: number;
}

export interface WebhookReceiverOptions {
  host?: string;
  port?: number;
  /** The subscription's `whsec_...`; a request whose signature does not verify is answered 401. */
  secret?: string;
  /** The status a verified request is answered with (tests make it 500 to see retries); default 204. */
  status?: () => number;
  onWebhook?: (webhook: ReceivedWebhook) => void;
}

/**
 * A tiny webhook receiver: verifies each request's signature with `verifyWebhook` (the check the README
 * shows) and records it. `npm run webhook-receiver` runs it on its own; tests start it in-process.
 */
export async function startWebhookReceiver(options: WebhookReceiverOptions = {}) {
  const received: ReceivedWebhook[] = [];
  let secret = options.secret;
  const server = createServer((request, response) => {
    readRaw(request).then(
      (body) => {
        const webhook = check(request, body, secret);
        received.push(webhook);
        options.onWebhook?.(webhook);
        answer(response, webhook.verified ? (options.status?.() ?? 204) : 401);
      },
      () => answer(response, 400),
    );
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}/hooks`,
    received,
    /** The secret is known only once the subscription is created, which needs the URL first. */
    useSecret(value: string) {
      secret = value;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function check(request: IncomingMessage, body: string, secret: string | undefined): ReceivedWebhook {
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(", ") : value,
    ]),
  );
  const base = { headers, body, receivedAt: Date.now() };
  if (!secret) return { ...base, verified: false, reason: "no secret to verify with" };
  const result = verifyWebhook(secret, headers, body);
  return result.ok ? { ...base, verified: true } : { ...base, verified: false, reason: result.reason };
}

async function readRaw(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function answer(response: ServerResponse, status: number) {
  response.writeHead(status).end();
}

// --- npm run webhook-receiver -----------------------------------------------------------------------

const USAGE = `usage: npm run webhook-receiver -- [--types attendance,presence] [--sn SN] [--port 8787]
  Starts a receiver on 127.0.0.1, subscribes it through the running 'npm start' API (POST /v1/webhooks),
  prints each event with its signature check, and deletes the subscription on Ctrl-C.
  --secret whsec_...   verify with this secret instead of subscribing (subscribe elsewhere yourself)
  --api URL --api-key KEY   another API than the running 'npm start'`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      types: { type: "string", default: "attendance,presence,command_status" },
      sn: { type: "string" },
      port: { type: "string", default: "0" },
      secret: { type: "string" },
      api: { type: "string" },
      "api-key": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return void console.log(USAGE);
  const receiver = await startWebhookReceiver({
    port: Number(values.port),
    ...(values.secret ? { secret: values.secret } : {}),
    onWebhook: print,
  });
  console.log(`webhook receiver on ${receiver.url}`);
  const unsubscribe = values.secret ? async () => undefined : await subscribe(receiver, values);
  process.once("SIGINT", () => {
    void unsubscribe().finally(() => receiver.stop().then(() => process.exit(0)));
  });
}

async function subscribe(
  receiver: Awaited<ReturnType<typeof startWebhookReceiver>>,
  values: {
    types: string;
    sn?: string | undefined;
    api?: string | undefined;
    "api-key"?: string | undefined;
  },
) {
  const session = await readSession();
  const api = values.api ?? session?.apiUrl;
  const key = values["api-key"] ?? session?.apiKey;
  if (!api || !key) throw new Error("no running 'npm start' found: pass --api and --api-key, or --secret");
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const request = {
    url: receiver.url,
    types: values.types.split(","),
    ...(values.sn ? { sn: values.sn } : {}),
  };
  const response = await fetch(`${api}/v1/webhooks`, {
    method: "POST",
    headers,
    body: JSON.stringify(request),
  });
  const created = (await response.json()) as { webhook?: { id: string }; secret?: string; detail?: string };
  if (!created.webhook || !created.secret)
    throw new Error(`POST /v1/webhooks: ${response.status} ${created.detail}`);
  receiver.useSecret(created.secret);
  console.log(
    `subscribed as ${created.webhook.id} to ${request.types.join(", ")}${values.sn ? ` of ${values.sn}` : ""}`,
  );
  const id = created.webhook.id;
  return async () => {
    await fetch(`${api}/v1/webhooks/${id}`, { method: "DELETE", headers });
    console.log(`\nunsubscribed ${id}`);
  };
}

function print(webhook: ReceivedWebhook) {
  const check = webhook.verified ? "signature ok" : `REJECTED (${webhook.reason})`;
  console.log(
    `${new Date(webhook.receivedAt).toISOString()} ${webhook.headers["webhook-id"]} ${check} ${webhook.body}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
