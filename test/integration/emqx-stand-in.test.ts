import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aedes } from "aedes";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type EmqxStandIn, type EmqxStandInOptions, startEmqxStandIn } from "../../local/emqx/index.ts";

const TOKEN = "test-ingest-token";
const KEY = "bridge-key";
const SECRET = "bridge-secret";
const ACTION_PATH = "/emqx/rule-events";
const GUID = /^[0-9A-F]{32}$/;

interface Rule {
  id: string;
  sql: string;
  enable?: boolean;
  actions?: unknown[];
}

const SHIPPED_RULES: Rule[] = [
  { id: "bridge_attendance", sql: 'SELECT * FROM "api/mqtt/v1/+/evt"' },
  { id: "bridge_status", sql: 'SELECT * FROM "api/mqtt/v1/+/st"' },
  { id: "bridge_lifecycle", sql: 'SELECT * FROM "$events/client_connected", "$events/client_disconnected"' },
  {
    id: "bridge_cmd_acks",
    sql: "SELECT * FROM \"$events/message_acked\" WHERE topic =~ 'api/mqtt/v1/+/cmd'",
  },
];

interface Recorded {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** Stands in for the ingest: records every request and answers what `respond` says (200 by default). */
class Receiver {
  readonly requests: Recorded[] = [];
  respond: (body: Record<string, unknown>, index: number) => number = () => 200;
  url = "";
  readonly #server = createHttpServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text) as Record<string, unknown>;
    const index = this.requests.push({ path: req.url ?? "", headers: req.headers, body }) - 1;
    res.writeHead(this.respond(body, index), { "content-type": "application/json" }).end("{}");
  });

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

const cleanups: Array<() => Promise<void> | void> = [];
let rulesDir = "";

function writeRules(dir: string, rules: Rule[]): void {
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
      resource_opts: { request_ttl: "10m", health_check_interval: "15s" },
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
}

function tempRulesDir(rules: Rule[]): string {
  const dir = mkdtempSync(join(tmpdir(), "emqx-rules-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeRules(dir, rules);
  return dir;
}

interface Harness {
  broker: Aedes;
  mqttPort: number;
  standIn: EmqxStandIn;
  receiver: Receiver;
  logs: string[];
  connect(clientId: string, options?: IClientOptions): Promise<MqttClient>;
  api(path: string, body?: unknown, auth?: string): Promise<{ status: number; body: unknown }>;
}

async function startHarness(options: Partial<EmqxStandInOptions> = {}): Promise<Harness> {
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
    rulesDir,
    ingestUrl: receiver.url,
    ingestToken: TOKEN,
    api: { port: 0, key: KEY, secret: SECRET },
    timing: { resumeIntervalMs: 50 },
    log: (line) => logs.push(line),
    ...options,
  });
  cleanups.push(() => standIn.stop());
  const mqttPort = (server.address() as AddressInfo).port;
  const basic = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString("base64")}`;
  return {
    broker,
    mqttPort,
    standIn,
    receiver,
    logs,
    async connect(clientId, clientOptions = {}) {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
        clientId,
        reconnectPeriod: 0,
        ...clientOptions,
      });
      cleanups.push(() => void client.end(true));
      return client;
    },
    async api(path, body, auth = basic) {
      const response = await fetch(`${standIn.apiUrl}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      });
      return { status: response.status, body: await response.json() };
    },
  };
}

/** Polls `probe` until it returns something, or fails after `ms`. */
async function until<T>(probe: () => T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const byEvent = (event: string, clientid?: string) => (body: Record<string, unknown>) =>
  body.event === event && (clientid === undefined || body.clientid === clientid);

/** A hand-made MQTT 3.1.1 CONNECT: lets a test go silent (no PINGREQ) or vanish without DISCONNECT. */
function rawConnect(port: number, clientId: string, keepaliveSeconds: number): Promise<Socket> {
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

beforeAll(() => {
  rulesDir = mkdtempSync(join(tmpdir(), "emqx-rules-"));
  writeRules(rulesDir, SHIPPED_RULES);
});

afterAll(() => rmSync(rulesDir, { recursive: true, force: true }));

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("message.publish", () => {
  it("posts a device's evt publish with EMQX's body shape, headers and a new id per PUBLISH", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-1");
    await device.publishAsync("api/mqtt/v1/dev-1/evt", '{"user_id":"1001"}', { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-1/evt", '{"user_id":"1001"}', { qos: 1 });
    await until(() => h.receiver.bodies(byEvent("message.publish")).length === 2);

    const [first, second] = h.receiver.bodies(byEvent("message.publish")) as [
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    expect(Object.keys(first).sort()).toEqual(
      [
        "id",
        "clientid",
        "username",
        "payload",
        "peerhost",
        "peername",
        "topic",
        "qos",
        "flags",
        "pub_props",
        "publish_received_at",
        "client_attrs",
        "event",
        "timestamp",
        "node",
        "metadata",
      ].sort(),
    );
    expect(first).toMatchObject({
      id: expect.stringMatching(GUID),
      clientid: "dev-1",
      username: "undefined",
      payload: '{"user_id":"1001"}',
      peerhost: "127.0.0.1",
      peername: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      topic: "api/mqtt/v1/dev-1/evt",
      qos: 1,
      flags: { retain: false, dup: false },
      pub_props: { "User-Property": {} },
      publish_received_at: expect.any(Number),
      client_attrs: {},
      event: "message.publish",
      timestamp: expect.any(Number),
      node: "emqx@127.0.0.1",
      metadata: { rule_id: "bridge_attendance" },
    });
    expect(second.id).toMatch(GUID);
    expect(second.id).not.toBe(first.id);

    const request = h.receiver.requests.find((r) => r.body.id === first.id);
    expect(request?.path).toBe(ACTION_PATH);
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["x-from"]).toBe("action");
  });

  it("turns non-UTF-8 payload bytes into U+FFFD, ignores topics no rule selects, and counts matches", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-2", { username: "alice" });
    await device.publishAsync("api/mqtt/v1/dev-2/ack", "not selected", { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-2/st", Buffer.from([0xff, 0x41]), { qos: 0 });
    const body = await h.receiver.find(byEvent("message.publish"));
    await h.standIn.idle();

    expect(body).toMatchObject({
      payload: "\uFFFDA",
      username: "alice",
      qos: 0,
      metadata: { rule_id: "bridge_status" },
    });
    expect(h.receiver.bodies(byEvent("message.publish"))).toHaveLength(1);
    expect(h.standIn.metrics()).toMatchObject({ matched: 2, success: 2, failed: 0, inflight: 0 });
  });
});

describe("client lifecycle events", () => {
  it("posts client.connected and client.disconnected with reason normal after DISCONNECT", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-3", { username: "dev-3", keepalive: 30 });
    const connected = await h.receiver.find(byEvent("client.connected", "dev-3"));
    await device.endAsync();
    const disconnected = await h.receiver.find(byEvent("client.disconnected", "dev-3"));

    expect(connected).toMatchObject({
      clientid: "dev-3",
      username: "dev-3",
      mountpoint: "undefined",
      peername: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      sockname: `127.0.0.1:${h.mqttPort}`,
      proto_name: "MQTT",
      proto_ver: 4,
      keepalive: 30,
      clean_start: true,
      expiry_interval: 0,
      is_bridge: false,
      conn_props: { "User-Property": {} },
      connected_at: expect.any(Number),
      client_attrs: {},
      event: "client.connected",
      node: "emqx@127.0.0.1",
      metadata: { rule_id: "bridge_lifecycle" },
    });
    expect(disconnected).toMatchObject({
      reason: "normal",
      clientid: "dev-3",
      username: "dev-3",
      proto_ver: 4,
      disconn_props: { "User-Property": {} },
      connected_at: connected.connected_at,
      disconnected_at: expect.any(Number),
      event: "client.disconnected",
      metadata: { rule_id: "bridge_lifecycle" },
    });
    expect(disconnected).not.toHaveProperty("keepalive");
  });

  it("reports tcp_closed when the socket dies, and publishes the will with peerhost undefined", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-4", {
      will: {
        topic: "api/mqtt/v1/dev-4/st",
        payload: Buffer.from('{"online":false}'),
        qos: 1,
        retain: false,
      },
    });
    await h.receiver.find(byEvent("client.connected", "dev-4"));
    device.stream.destroy();

    const disconnected = await h.receiver.find(byEvent("client.disconnected", "dev-4"));
    const will = await h.receiver.find(byEvent("message.publish", "dev-4"));
    expect(disconnected.reason).toBe("tcp_closed");
    expect(will).toMatchObject({
      id: expect.stringMatching(GUID),
      clientid: "dev-4",
      username: "undefined",
      payload: '{"online":false}',
      peerhost: "undefined",
      peername: "undefined",
      topic: "api/mqtt/v1/dev-4/st",
      qos: 1,
      metadata: { rule_id: "bridge_status" },
    });
  });

  it("reports keepalive_timeout when a client goes silent", async () => {
    const h = await startHarness();
    await rawConnect(h.mqttPort, "dev-5", 1);
    const disconnected = await h.receiver.find(byEvent("client.disconnected", "dev-5"));
    expect(disconnected).toMatchObject({ reason: "keepalive_timeout", proto_ver: 4 });
  });

  it("reports takenover (clean=false) and discarded (clean=true) for the replaced connection", async () => {
    const h = await startHarness();
    await h.connect("dev-6", { clean: false });
    const first = await h.receiver.find(byEvent("client.connected", "dev-6"));
    await sleep(5); // distinct connected_at values
    await h.connect("dev-6", { clean: false });
    const takenover = await h.receiver.find(
      (b) => byEvent("client.disconnected", "dev-6")(b) && b.reason === "takenover",
    );
    const second = (await until(() => h.receiver.bodies(byEvent("client.connected", "dev-6"))[1])) as Record<
      string,
      unknown
    >;
    await sleep(5);
    await h.connect("dev-6", { clean: true });
    const discarded = await h.receiver.find(
      (b) => byEvent("client.disconnected", "dev-6")(b) && b.reason === "discarded",
    );

    expect(takenover.connected_at).toBe(first.connected_at);
    expect(second.clean_start).toBe(false);
    expect(discarded.connected_at).toBe(second.connected_at);
    expect(second.connected_at).not.toBe(first.connected_at);
  });

  it("keeps the events of one client in order", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-7");
    await device.publishAsync("api/mqtt/v1/dev-7/evt", "1", { qos: 1 });
    await device.endAsync();
    await h.receiver.find(byEvent("client.disconnected", "dev-7"));
    expect(h.receiver.bodies().map((b) => b.event)).toEqual([
      "client.connected",
      "message.publish",
      "client.disconnected",
    ]);
  });
});

describe("HTTP action retry table", () => {
  it("retries 503 (3 immediate tries, then one per resume interval) until it succeeds, holding back later messages", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-8");
    await h.receiver.find(byEvent("client.connected"));
    let failures = 4;
    h.receiver.respond = () => (failures-- > 0 ? 503 : 200);
    await device.publishAsync("api/mqtt/v1/dev-8/evt", "a", { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-8/evt", "b", { qos: 1 });
    await until(() => h.receiver.bodies((b) => b.payload === "b").length === 1);
    await h.standIn.idle();

    const payloads = h.receiver.bodies((b) => b.event === "message.publish").map((b) => b.payload);
    // "b" waits behind the retrying "a": one client's messages stay in order.
    expect(payloads).toEqual(["a", "a", "a", "a", "a", "b"]);
    expect(new Set(h.receiver.bodies((b) => b.payload === "a").map((b) => b.id)).size).toBe(1);
    expect(h.standIn.metrics()).toMatchObject({
      success: 3,
      retried: 4,
      failed: 0,
      droppedExpired: 0,
      inflight: 0,
    });
    expect(h.logs.filter((line) => line.includes("HTTP 503"))).toHaveLength(4);
  });

  it("retries 429 as well", async () => {
    const h = await startHarness();
    h.receiver.respond = (body, index) => (body.event === "message.publish" && index < 3 ? 429 : 200);
    const device = await h.connect("dev-9");
    await device.publishAsync("api/mqtt/v1/dev-9/evt", "x", { qos: 1 });
    await until(() => h.receiver.bodies((b) => b.payload === "x").length >= 2);
    await h.standIn.idle();
    expect(h.standIn.metrics().retried).toBeGreaterThan(0);
    expect(h.standIn.metrics().failed).toBe(0);
  });

  it("does not retry 500 or 400", async () => {
    const h = await startHarness();
    h.receiver.respond = (body) => (body.payload === "five" ? 500 : body.payload === "four" ? 400 : 200);
    const device = await h.connect("dev-10");
    await device.publishAsync("api/mqtt/v1/dev-10/evt", "five", { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-10/evt", "four", { qos: 1 });
    await until(() => h.receiver.bodies((b) => b.payload === "four").length === 1);
    await h.standIn.idle();
    await sleep(150);

    expect(h.receiver.bodies((b) => b.payload === "five")).toHaveLength(1);
    expect(h.receiver.bodies((b) => b.payload === "four")).toHaveLength(1);
    expect(h.standIn.metrics()).toMatchObject({ failed: 2, retried: 0 });
    expect(h.logs.filter((line) => line.includes("not retried"))).toHaveLength(2);
  });

  it("drops a request once it is older than request_ttl", async () => {
    const h = await startHarness({ timing: { requestTtlMs: 300, resumeIntervalMs: 100 } });
    h.receiver.respond = (body) => (body.event === "message.publish" ? 503 : 200);
    const device = await h.connect("dev-11");
    await device.publishAsync("api/mqtt/v1/dev-11/evt", "late", { qos: 1 });
    await until(() => h.standIn.metrics().droppedExpired === 1);
    await h.standIn.idle();

    const attempts = h.receiver.bodies((b) => b.payload === "late").length;
    expect(attempts).toBeGreaterThanOrEqual(4);
    expect(attempts).toBeLessThanOrEqual(6);
    expect(h.standIn.metrics()).toMatchObject({ droppedExpired: 1, success: 1, inflight: 0 });
    expect(h.logs.some((line) => line.includes("dropped") && line.includes("request_ttl"))).toBe(true);
  });

  it("treats connection refused as recoverable", async () => {
    const closed = new Receiver();
    await closed.start();
    await closed.stop();
    const h = await startHarness({
      ingestUrl: closed.url,
      timing: { requestTtlMs: 200, resumeIntervalMs: 50 },
    });
    await h.connect("dev-12");
    await until(() => h.standIn.metrics().droppedExpired === 1);
    expect(h.standIn.metrics()).toMatchObject({ failed: 0, success: 0 });
    expect(h.standIn.metrics().retried).toBeGreaterThanOrEqual(2);
    expect(h.logs.some((line) => line.includes("ECONNREFUSED"))).toBe(true);
  });
});

describe("rule files", () => {
  const startWith = (rules: Rule[]) =>
    startHarness({ rulesDir: tempRulesDir(rules) }).then(
      () => "started",
      (error: Error) => error.message,
    );

  it("refuses SQL outside the supported subset, naming the rule and the part", async () => {
    expect(await startWith([{ id: "fields", sql: 'SELECT payload.x as x FROM "t/#"' }])).toMatch(
      /rule "fields": the stand-in supports only .*unsupported: SELECT payload\.x as x/,
    );
    expect(
      await startWith([{ id: "or", sql: "SELECT * FROM \"t/#\" WHERE topic =~ 'a/+' or clientid = 'x'" }]),
    ).toMatch(
      /rule "or": the stand-in supports only .*unsupported: WHERE topic =~ 'a\/\+' or clientid = 'x'/,
    );
    expect(await startWith([{ id: "event", sql: 'SELECT * FROM "$events/session_subscribed"' }])).toMatch(
      /rule "event".*unsupported: FROM "\$events\/session_subscribed"/,
    );
    expect(await startWith([{ id: "filter", sql: 'SELECT * FROM "a/#/b"' }])).toMatch(
      /rule "filter".*# must be the last/,
    );
  });

  it("refuses a rule whose action does not exist, and skips disabled rules", async () => {
    expect(await startWith([{ id: "orphan", sql: 'SELECT * FROM "t"', actions: ["http:nope"] }])).toMatch(
      /rule "orphan" uses action "http:nope", which does not exist/,
    );
    expect(await startWith([{ id: "off", sql: "SELECT nonsense", enable: false }])).toBe("started");
  });

  it("applies WHERE clientid != and topic =~ filters", async () => {
    const dir = tempRulesDir([
      { id: "not_api", sql: "SELECT * FROM \"t/#\" WHERE clientid != 'http_api' and topic =~ 't/+/up'" },
    ]);
    const h = await startHarness({ rulesDir: dir });
    const device = await h.connect("dev-13");
    await device.publishAsync("t/1/down", "no", { qos: 1 });
    await device.publishAsync("t/1/up", "yes", { qos: 1 });
    await h.api("/publish", { topic: "t/2/up", payload: "api" });
    await h.receiver.find((b) => b.payload === "yes");
    await h.standIn.idle();
    expect(h.receiver.bodies().map((b) => b.payload)).toEqual(["yes"]);
  });
});

describe("management API", () => {
  it("answers 401 with BAD_API_KEY_OR_SECRET for a wrong or missing key", async () => {
    const h = await startHarness();
    const wrong = `Basic ${Buffer.from(`${KEY}:nope`).toString("base64")}`;
    for (const auth of [wrong, ""]) {
      const response = await h.api("/publish", { topic: "a", payload: "x" }, auth);
      expect(response).toMatchObject({ status: 401, body: { code: "BAD_API_KEY_OR_SECRET" } });
    }
  });

  it("answers 202 no_matching_subscribers without a subscriber, and still runs the rules as http_api", async () => {
    const h = await startHarness();
    const response = await h.api("/publish", {
      topic: "api/mqtt/v1/dev-14/st",
      payload: '{"online":true}',
      qos: 1,
    });
    expect(response).toEqual({ status: 202, body: { reason_code: 16, message: "no_matching_subscribers" } });
    const body = await h.receiver.find(byEvent("message.publish"));
    expect(body).toMatchObject({
      id: expect.stringMatching(GUID),
      clientid: "http_api",
      username: "undefined",
      peerhost: "undefined",
      flags: { retain: false },
      metadata: { rule_id: "bridge_status" },
    });
    expect(body.flags).not.toHaveProperty("dup");
  });

  it("answers 200 with the id when a subscriber exists, and posts message.acked after its PUBACK", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-15");
    await device.subscribeAsync("api/mqtt/v1/dev-15/cmd", { qos: 1 });
    const received = new Promise<{ topic: string; payload: string }>((resolve) =>
      device.once("message", (topic, payload) => resolve({ topic, payload: payload.toString() })),
    );
    const response = await h.api("/publish", {
      topic: "api/mqtt/v1/dev-15/cmd",
      payload: '{"id":"c1","op":"sync_user"}',
      qos: 1,
      properties: { user_properties: { cmd_id: "c1" }, message_expiry_interval: 300 },
    });
    expect(response.status).toBe(200);
    const { id } = response.body as { id: string };
    expect(id).toMatch(GUID);
    expect(await received).toEqual({
      topic: "api/mqtt/v1/dev-15/cmd",
      payload: '{"id":"c1","op":"sync_user"}',
    });

    const acked = await h.receiver.find(byEvent("message.acked"));
    expect(acked).toMatchObject({
      id,
      from_clientid: "http_api",
      from_username: "undefined",
      clientid: "dev-15",
      username: "undefined",
      payload: '{"id":"c1","op":"sync_user"}',
      peerhost: "127.0.0.1",
      topic: "api/mqtt/v1/dev-15/cmd",
      qos: 1,
      flags: { retain: false },
      pub_props: {
        "User-Property": { cmd_id: "c1" },
        "User-Property-Pairs": [{ key: "cmd_id", value: "c1" }],
        "Message-Expiry-Interval": 300,
      },
      puback_props: { "User-Property": {} },
      publish_received_at: expect.any(Number),
      event: "message.acked",
      metadata: { rule_id: "bridge_cmd_acks" },
    });
  });

  it("posts message.acked for a device-to-device QoS 1 message with the publisher's id", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-16", { clean: false });
    await device.subscribeAsync("api/mqtt/v1/dev-16/cmd", { qos: 1 });
    const sender = await h.connect("sender");
    await sender.publishAsync("api/mqtt/v1/dev-16/cmd", "hi", { qos: 1 });
    const acked = await h.receiver.find(byEvent("message.acked"));
    expect(acked).toMatchObject({
      id: expect.stringMatching(GUID),
      from_clientid: "sender",
      clientid: "dev-16",
    });
  });

  it("refuses invalid messages with EMQX's error bodies", async () => {
    const h = await startHarness();
    expect(await h.api("/publish", { topic: "a/+/b", payload: "x" })).toEqual({
      status: 400,
      body: { reason_code: 144, message: "topic_name_invalid" },
    });
    expect(await h.api("/publish", { topic: "a", payload: { not: "a string" } })).toMatchObject({
      status: 400,
      body: { code: "BAD_REQUEST" },
    });
    expect(await h.api("/publish", { payload: "x" })).toMatchObject({
      status: 400,
      body: { code: "BAD_REQUEST" },
    });
    expect(await h.api("/publish", { topic: "a", payload: "x", qos: 3 })).toMatchObject({ status: 400 });
    expect(await h.api("/publish", "{not json")).toMatchObject({
      status: 400,
      body: { code: "BAD_REQUEST" },
    });
  });

  it("bulk: one invalid item gives a single 400 and publishes nothing", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-17");
    await device.subscribeAsync("api/mqtt/v1/dev-17/cmd", { qos: 1 });
    let delivered = 0;
    device.on("message", () => delivered++);
    await h.receiver.find(byEvent("client.connected"));
    await h.standIn.idle();
    const before = h.receiver.requests.length;

    const response = await h.api("/publish/bulk", [
      { topic: "api/mqtt/v1/dev-17/cmd", payload: "ok", qos: 1 },
      { topic: "api/mqtt/v1/#", payload: "bad", qos: 1 },
    ]);
    expect(response).toEqual({ status: 400, body: { reason_code: 144, message: "topic_name_invalid" } });
    await sleep(100);
    expect(delivered).toBe(0);
    expect(h.receiver.requests.length).toBe(before);
  });

  it("bulk: per-item results, 202 when some had no subscriber, 500 for an empty batch", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-18");
    await device.subscribeAsync("api/mqtt/v1/dev-18/cmd", { qos: 1 });
    const response = await h.api("/publish/bulk", [
      { topic: "api/mqtt/v1/dev-18/cmd", payload: "1", qos: 1 },
      { topic: "api/mqtt/v1/nobody/cmd", payload: "2", qos: 1 },
    ]);
    expect(response.status).toBe(202);
    expect(response.body).toEqual([
      { id: expect.stringMatching(GUID) },
      { reason_code: 16, message: "no_matching_subscribers" },
    ]);
    const all = await h.api("/publish/bulk", [{ topic: "api/mqtt/v1/dev-18/cmd", payload: "3", qos: 1 }]);
    expect(all.status).toBe(200);
    expect((await h.api("/publish/bulk", [])).status).toBe(500);
  });

  it("answers 503 failed_to_dispatch while a publish failure is simulated", async () => {
    const h = await startHarness();
    h.standIn.setPublishFailure(503);
    expect(await h.api("/publish", { topic: "a", payload: "x" })).toEqual({
      status: 503,
      body: { reason_code: 131, message: "failed_to_dispatch" },
    });
    h.standIn.setPublishFailure(null);
    expect((await h.api("/publish", { topic: "a", payload: "x" })).status).toBe(202);
  });

  it("GET /clients/{id}: connected clients, persistent sessions after disconnect, 404 otherwise", async () => {
    const h = await startHarness();
    const clean = await h.connect("dev-19");
    const persistent = await h.connect("dev-20", { clean: false });
    await persistent.subscribeAsync("x/y", { qos: 1 });

    const online = await h.api("/clients/dev-20");
    expect(online).toMatchObject({
      status: 200,
      body: { clientid: "dev-20", connected: true, clean_start: false, subscriptions_cnt: 1, proto_ver: 4 },
    });
    expect(new Date((online.body as { connected_at: string }).connected_at).toISOString()).toBe(
      (online.body as { connected_at: string }).connected_at,
    );

    await clean.endAsync();
    await persistent.endAsync();
    await until(() => h.receiver.bodies(byEvent("client.disconnected")).length === 2);
    expect(await h.api("/clients/dev-19")).toEqual({
      status: 404,
      body: { code: "CLIENTID_NOT_FOUND", message: expect.any(String) },
    });
    expect(await h.api("/clients/dev-20")).toMatchObject({
      status: 200,
      body: { connected: false, disconnected_at: expect.any(String) },
    });
    expect((await h.api("/clients/never-seen")).status).toBe(404);
  });

  it("aedes 1.2 refuses MQTT 5 clients, so user properties reach subscribers only in rule bodies", async () => {
    const h = await startHarness();
    await expect(h.connect("v5", { protocolVersion: 5 })).rejects.toThrow(/protocol version/i);
  });
});
