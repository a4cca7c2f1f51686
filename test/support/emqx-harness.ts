/**
 * A real aedes broker, the EMQX stand-in and a recording HTTP receiver in place of the ingest, for the
 * stand-in's own tests (test/integration/emqx-*.test.ts). Call `runCleanups` after each test.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aedes } from "aedes";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { type EmqxStandIn, type EmqxStandInOptions, startEmqxStandIn } from "../../local/emqx/index.ts";

export const TOKEN = "test-ingest-token";
export const KEY = "bridge-key";
export const SECRET = "bridge-secret";
export const ACTION_PATH = "/emqx/rule-events";
export const AUTHN_PATH = "/emqx/authn";
export const GUID = /^[0-9A-F]{32}$/;

export interface Rule {
  id: string;
  sql: string;
  enable?: boolean;
  actions?: unknown[];
}

export const SHIPPED_RULES: Rule[] = [
  { id: "bridge_attendance", sql: 'SELECT * FROM "api/mqtt/v1/+/evt"' },
  { id: "bridge_status", sql: 'SELECT * FROM "api/mqtt/v1/+/st"' },
  { id: "bridge_lifecycle", sql: 'SELECT * FROM "$events/client_connected", "$events/client_disconnected"' },
  {
    id: "bridge_cmd_acks",
    sql: "SELECT * FROM \"$events/message_acked\" WHERE topic =~ 'api/mqtt/v1/+/cmd'",
  },
];

/** Connector and action settings a test may change (EMQX's names; unset means EMQX's default). */
export interface ActionSettings {
  connector?: Record<string, unknown>;
  resourceOpts?: Record<string, unknown>;
}

/** What the receiver does with a request: answer a status, or break the connection after the headers. */
export type Answer = number | "reset";

interface Recorded {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * Stands in for the ingest: records every rule event and answers what `respond` says (200 by default).
 * Requests to `/emqx/authn` go to `authn` instead (a Hono app's `fetch`, say), and are kept apart.
 */
export class Receiver {
  readonly requests: Recorded[] = [];
  readonly authnRequests: Recorded[] = [];
  authn: ((request: Request) => Response | Promise<Response>) | undefined;
  /** Bodies in the order their answers were sent. */
  readonly answered: Record<string, unknown>[] = [];
  respond: (body: Record<string, unknown>, index: number) => Answer | Promise<Answer> = () => 200;
  url = "";
  readonly #server = createHttpServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    if (req.url === AUTHN_PATH && this.authn) return this.#answerAuthn(req, text, res);
    const body = JSON.parse(text) as Record<string, unknown>;
    const index = this.requests.push({ path: req.url ?? "", headers: req.headers, body }) - 1;
    const answer = await this.respond(body, index);
    if (answer === "reset") return resetMidBody(res);
    this.answered.push(body);
    res.writeHead(answer, { "content-type": "application/json" }).end("{}");
  });

  async #answerAuthn(req: IncomingMessage, text: string, res: ServerResponse): Promise<void> {
    this.authnRequests.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(text) });
    const headers = Object.entries(req.headers).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : []));
    const request = new Request(`${this.url}${req.url}`, { method: req.method, headers, body: text });
    const answer = await (this.authn as (request: Request) => Response | Promise<Response>)(request);
    res.writeHead(answer.status, Object.fromEntries(answer.headers)).end(await answer.text());
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  bodies(filter: (body: Record<string, unknown>) => boolean = () => true): Record<string, unknown>[] {
    return this.requests.map((r) => r.body).filter(filter);
  }

  /** The first body (in arrival order) for which `filter` holds, waiting for it to arrive. */
  find(filter: (body: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    return until(() => this.bodies(filter)[0]);
  }
}

/** Sends a 200 status line and half a body, then a TCP reset: "ECONNRESET mid-response". */
function resetMidBody(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
  res.write("{", () => res.socket?.resetAndDestroy());
}

const cleanups: Array<() => Promise<void> | void> = [];

/** Runs and forgets what the harness started, newest first. */
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export function addCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

/** A temporary rules folder in the shape of emqx-rules/generated/, removed by `runCleanups`. */
export function tempRulesDir(rules: Rule[] = SHIPPED_RULES, settings: ActionSettings = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "emqx-rules-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const connectors = [
    {
      type: "http",
      name: "ingest",
      url: "{{INGEST_URL}}",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer {{INGEST_TOKEN}}",
        "x-from": "connector",
      },
      pool_size: 4,
      resource_opts: { health_check_interval: "15s" },
      ...settings.connector,
    },
  ];
  const actions = [
    {
      type: "http",
      name: "ingest",
      connector: "ingest",
      parameters: {
        method: "post",
        path: ACTION_PATH,
        // EMQX's defaults include keep-alive, which Node's fetch refuses; the stand-in must cope.
        headers: { "content-type": "application/json", "X-From": "action", "keep-alive": "timeout=5" },
      },
      resource_opts: { request_ttl: "10m", health_check_interval: "15s", ...settings.resourceOpts },
    },
  ];
  const full = rules.map((rule) => ({
    enable: true,
    description: rule.id,
    actions: ["http:ingest"],
    ...rule,
  }));
  writeFileSync(join(dir, "connectors.json"), JSON.stringify(connectors));
  writeFileSync(join(dir, "actions.json"), JSON.stringify(actions));
  writeFileSync(join(dir, "rules.json"), JSON.stringify(full));
  return dir;
}

export interface Harness {
  broker: Aedes;
  mqttPort: number;
  standIn: EmqxStandIn;
  receiver: Receiver;
  logs: string[];
  connect(clientId: string, options?: IClientOptions): Promise<MqttClient>;
  api(path: string, body?: unknown, auth?: string): Promise<{ status: number; body: unknown }>;
}

/** Starts broker, receiver and stand-in (the shipped rules, EMQX's default pool sizes unless told). */
export async function startHarness(options: Partial<EmqxStandInOptions> = {}): Promise<Harness> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const receiver = new Receiver();
  await receiver.start();
  cleanups.push(() => receiver.stop());
  const logs: string[] = [];
  const standIn = await startEmqxStandIn({
    broker,
    rulesDir: options.rulesDir ?? tempRulesDir(),
    ingestUrl: receiver.url,
    ingestToken: TOKEN,
    api: { port: 0, key: KEY, secret: SECRET },
    timing: { resumeIntervalMs: 50 },
    log: (line) => logs.push(line),
    ...options,
  });
  cleanups.push(() => standIn.stop());
  const mqttPort = (server.address() as AddressInfo).port;
  return { broker, mqttPort, standIn, receiver, logs, connect: connector(mqttPort), api: apiCaller(standIn) };
}

function connector(port: number): Harness["connect"] {
  return async (clientId, clientOptions = {}) => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId,
      reconnectPeriod: 0,
      ...clientOptions,
    });
    cleanups.push(() => void client.end(true));
    return client;
  };
}

function apiCaller(standIn: EmqxStandIn): Harness["api"] {
  const basic = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString("base64")}`;
  return async (path, body, auth = basic) => {
    const response = await fetch(`${standIn.apiUrl}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  };
}

/** Polls `probe` until it returns something, or fails after `ms`. */
export async function until<T>(probe: () => T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const byEvent = (event: string, clientid?: string) => (body: Record<string, unknown>) =>
  body.event === event && (clientid === undefined || body.clientid === clientid);

/** A hand-made MQTT 3.1.1 CONNECT: lets a test go silent (no PINGREQ) or vanish without DISCONNECT. */
export function rawConnect(port: number, clientId: string, keepaliveSeconds: number): Promise<Socket> {
  const id = Buffer.from(clientId);
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, keepaliveSeconds]);
  const payload = Buffer.concat([Buffer.from([0, id.length]), id]);
  const packet = Buffer.concat([Buffer.from([0x10, variable.length + payload.length]), variable, payload]);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1", () => socket.write(packet));
    socket.once("data", () => resolve(socket));
    socket.once("error", reject);
    cleanups.push(() => void socket.destroy());
  });
}
