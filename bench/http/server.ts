import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { type AwsClients, awsClients, createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import type { BaseConfig } from "../../functions/adapters/config.ts";
import { EmqxRuleEvent } from "../../functions/core/schemas/emqx.ts";
import { parseJson, parseOrReject } from "../../functions/core/validation.ts";
import { createIngestApp } from "../../functions/ingest/app.ts";
import { ingestRuleEvent } from "../../functions/ingest/rule-event.ts";
import { benchLogger } from "../lib/fixture.ts";
import { handStoredItem, type RawPunch, storeByHand } from "../lib/hand-stored.ts";

/**
 * One HTTP server for the throughput comparison, in its own process, serving `POST /emqx/rule-events`
 * (prints its port). Four kinds, so the gap can be split between Hono, our edge and our domain:
 * - `app`: the ingest app on @hono/node-server, exactly as `npm start` serves it;
 * - `bare-domain`: node:http running the same domain code on the same adapters (the rule event's
 *   schema, `ingestRuleEvent`), without the HTTP edge (no Hono, deadline, quarantine, metrics);
 * - `hono-min`: a one-route Hono app doing the hand-written work below;
 * - `bare`: node:http doing that work by hand: one conditional PutItem and one SendMessage, no validation.
 * All check the bearer token the same way (SHA-256, constant-time compare).
 */
type Answer = { status: number; body: unknown };
type Store = (body: Uint8Array) => Promise<Answer>;

const env = process.env as Record<string, string>;
const config: BaseConfig = {
  TABLE_NAME: env.TABLE_NAME as string,
  EVENTS_QUEUE_URL: env.EVENTS_QUEUE_URL as string,
  COMMANDS_QUEUE_URL: env.COMMANDS_QUEUE_URL as string,
  AWS_REGION: "us-east-1",
  DYNAMODB_ENDPOINT: env.DYNAMODB_ENDPOINT,
  SQS_ENDPOINT: env.SQS_ENDPOINT,
};
const token = env.INGEST_TOKEN as string;
const expected = createHash("sha256").update(`Bearer ${token}`).digest();
const listening = (port: number) => console.log(`PORT ${port}`);

const SERVERS: Record<string, () => void> = {
  app: () => serveHono(appFetch()),
  "hono-min": () => serveHono(oneRouteHono(byHand(awsClients(config))).fetch),
  "bare-domain": () => serveBare(storeByDomain()),
  bare: () => serveBare(byHand(awsClients(config))),
};
const start = SERVERS[process.argv[2] ?? ""];
if (!start) throw new Error(`server kind: one of ${Object.keys(SERVERS).join(", ")}`);
start();

function appFetch() {
  return createIngestApp(createAwsDeps(config), {
    tokens: [token],
    deadlineMs: 8_000,
    maxBodyBytes: 256 * 1024,
    deviceTokenSecrets: [],
    logger: benchLogger(),
  }).fetch;
}

function serveHono(fetch: (request: Request) => Response | Promise<Response>): void {
  serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => listening(info.port));
}

function oneRouteHono(store: Store): Hono {
  const app = new Hono();
  app.post("/emqx/rule-events", async (c) => {
    if (!authorized(c.req.header("authorization"))) return c.json({ error: "unauthorized" }, 401);
    const answer = await store(new Uint8Array(await c.req.arrayBuffer()));
    return c.json(answer.body, answer.status as 200);
  });
  return app;
}

function serveBare(store: Store): void {
  const server = createServer((req, res) => {
    answerBare(req, res, store).catch((error: unknown) => reply(res, { status: 503, body: String(error) }));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => listening((server.address() as AddressInfo).port));
}

async function answerBare(req: IncomingMessage, res: ServerResponse, store: Store): Promise<void> {
  if (!authorized(req.headers.authorization))
    return reply(res, { status: 401, body: { error: "unauthorized" } });
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  reply(res, await store(Buffer.concat(chunks)));
}

function authorized(header: string | undefined): boolean {
  return timingSafeEqual(
    createHash("sha256")
      .update(header ?? "")
      .digest(),
    expected,
  );
}

function reply(res: ServerResponse, answer: Answer): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function storeByDomain(): Store {
  const deps = createAwsDeps(config);
  return async (body) => {
    const event = parseOrReject(
      EmqxRuleEvent,
      parseJson(Buffer.from(body).toString("utf8"), "body"),
      "",
      "malformed",
    );
    return { status: 200, body: await ingestRuleEvent(deps, event) };
  };
}

function byHand(clients: AwsClients): Store {
  const target = { ...clients, tableName: config.TABLE_NAME, queueUrl: config.EVENTS_QUEUE_URL };
  return async (body) => {
    const { sn, item } = punchItem(body);
    const stored = await storeByHand(target, item);
    const counts = { stored: stored ? 1 : 0, duplicates: stored ? 0 : 1 };
    return { status: 200, body: { result: "attendance", sn, ...counts, rejected: [] } };
  };
}

/** The stored punch, read from the rule event as is: no validation, which the domain does. */
function punchItem(body: Uint8Array) {
  const event = JSON.parse(Buffer.from(body).toString("utf8")) as {
    id: string;
    topic: string;
    payload: string;
  };
  const sn = event.topic.split("/")[3] as string;
  const item = { ...handStoredItem(sn, JSON.parse(event.payload) as RawPunch), emqxId: event.id };
  return { sn, item };
}
