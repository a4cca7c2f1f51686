/**
 * Per-device identity through the operations API: re-keying (`POST /v1/devices/{sn}/credentials`),
 * revoking and re-enabling (`PATCH /v1/devices/{sn}`) and the identity in `GET /v1/devices/{sn}`, on
 * DynamoDB Local. EMQX's management API is a small recording HTTP server here (the calls, their order,
 * and the answers of EMQX versions and outages); the last block runs the whole local stack, where real
 * MQTT clients log in through the EMQX stand-in and are cut off by the same requests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Logger } from "@aws-lambda-powertools/logger";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DynamoDbReaders } from "../../functions/adapters/dynamodb/readers.ts";
import { EmqxSessionsClient } from "../../functions/adapters/emqx/sessions-client.ts";
import { StaticApiKeyStore } from "../../functions/core/api-keys.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import type { LocalStack } from "../../local/stack.ts";
import { API_KEY, type ApiAnswer, startApi } from "../support/api-server.ts";
import { eventually, startTestStack } from "../support/local-stack.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";

const SECRET = "a-fleet-secret-of-at-least-32-characters-0123";
const READ_KEY = "read-only-key-0123456789abcdef";
const EMQX_KEY = "bridge-admin";
const EMQX_SECRET = "emqx-admin-secret";

interface EmqxCall {
  method: string;
  path: string;
  authorization: string | undefined;
}

/** EMQX's management API at the HTTP boundary: records every call and answers what `answer` says. */
class FakeEmqx {
  readonly calls: EmqxCall[] = [];
  /** status and JSON body per call; by default EMQX 5.9+ with the client connected. */
  answer: (call: EmqxCall) => { status: number; body?: unknown } = () => ({ status: 204 });
  url = "";
  readonly #server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const call = { method: req.method ?? "", path: req.url ?? "", authorization: req.headers.authorization };
    this.calls.push(call);
    const { status, body } = this.answer(call);
    if (body === undefined) res.writeHead(status).end();
    else res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  });

  async start() {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop() {
    this.#server.closeAllConnections();
    return new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  take(): string[] {
    return this.calls.splice(0).map((call) => `${call.method} ${call.path}`);
  }
}

/** What EMQX 5.8 answers: no node caches (404 NOT_FOUND), and `notConnected` clients unknown. */
const emqx58 =
  (notConnected: string[] = []) =>
  (call: EmqxCall) => {
    if (call.path.includes("node_cache")) return { status: 404, body: { code: "NOT_FOUND" } };
    const clientid = /^\/api\/v5\/clients\/([^/]+)$/.exec(call.path)?.[1];
    if (clientid && notConnected.includes(decodeURIComponent(clientid))) {
      return { status: 404, body: { code: "CLIENTID_NOT_FOUND", message: "Client ID not found" } };
    }
    return { status: 204 };
  };

const CUT_OFF_CALLS = (sn: string) => [
  "DELETE /api/v5/authorization/cache",
  "POST /api/v5/authentication/node_cache/reset",
  "POST /api/v5/authorization/node_cache/reset",
  `DELETE /api/v5/clients/${sn}`,
];

let env: TestResources;
let emqx: FakeEmqx;
let api: Awaited<ReturnType<typeof startApi>>;

beforeAll(async () => {
  env = await createTestResources();
  emqx = new FakeEmqx();
  await emqx.start();
  api = await startApiWith(`${emqx.url}/api/v5`);
});
afterAll(async () => {
  await api?.stop();
  await emqx?.stop();
  env?.destroy();
});
afterEach(() => {
  emqx.answer = () => ({ status: 204 });
  emqx.calls.length = 0;
});

const adminKeys = () =>
  new StaticApiKeyStore([
    { name: "ops", key: API_KEY, scopes: ["admin"] },
    { name: "viewer", key: READ_KEY, scopes: ["read"] },
  ]);

function startApiWith(emqxBaseUrl: string, secrets: string[] = [SECRET]) {
  const keys = adminKeys();
  const sessions = new EmqxSessionsClient({ baseUrl: emqxBaseUrl, apiKey: EMQX_KEY, apiSecret: EMQX_SECRET });
  const reader = new DynamoDbReaders(env.dynamodb, env.tableName);
  return startApi({ ...env.deps, reader, sessions, deviceTokenSecrets: secrets }, { keys });
}

/** The registry entry `GET /v1/devices/{sn}` shows; undefined when the device is unknown (404). */
async function identityOf(sn: string): Promise<Record<string, unknown> | undefined> {
  const answer = await api.request("GET", `/v1/devices/${sn}`, { key: READ_KEY });
  if (answer.status === 404) return undefined;
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return (answer.body.device as { identity?: Record<string, unknown> }).identity;
}

function expectProblem(answer: ApiAnswer, status: number, field?: string) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  if (field !== undefined) expect(answer.body.field).toBe(field);
}

describe("POST /v1/devices/{sn}/credentials", () => {
  it("moves the device to its next generation and shows the new token once", async () => {
    const first = await api.request("POST", "/v1/devices/SN-ROT-1/credentials");
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(first.body).toMatchObject({
      sn: "SN-ROT-1",
      generation: 1,
      token: deriveDeviceToken(SECRET, "SN-ROT-1", 1),
      device: { sn: "SN-ROT-1", enabled: true, generation: 1, registeredBy: "operator" },
      kicked: true,
      wasConnected: true,
      cachesCleared: true,
    });
    expect(first.body.warning).toBeUndefined();
    const second = await api.request("POST", "/v1/devices/SN-ROT-1/credentials", { body: {} });
    expect(second.body).toMatchObject({ generation: 2, token: deriveDeviceToken(SECRET, "SN-ROT-1", 2) });
    expect(await identityOf("SN-ROT-1")).toMatchObject({
      generation: 2,
      enabled: true,
      registeredBy: "operator",
    });
    // Only the generation is stored, never a token: a property of what is at rest, which no read of the
    // API can show (its views are allow-lists), so this one reads the device's items themselves.
    const atRest = await env.partition("DEVICE#SN-ROT-1");
    expect(atRest.length).toBeGreaterThan(0);
    expect(JSON.stringify(atRest)).not.toContain(String(second.body.token).slice(2));
  });

  it("clears EMQX's caches, then kicks the device, with the API's own key", async () => {
    await api.request("POST", "/v1/devices/SN-ROT-2/credentials");
    expect(emqx.calls.map((call) => `${call.method} ${call.path}`)).toEqual(CUT_OFF_CALLS("SN-ROT-2"));
    const basic = `Basic ${Buffer.from(`${EMQX_KEY}:${EMQX_SECRET}`).toString("base64")}`;
    expect(emqx.calls.every((call) => call.authorization === basic)).toBe(true);
  });

  it('with {"kick": false} clears the caches but leaves the live session to deliver the token over', async () => {
    const answer = await api.request("POST", "/v1/devices/SN-ROT-3/credentials", { body: { kick: false } });
    expect(answer.body).toMatchObject({ generation: 1, kicked: false, cachesCleared: true });
    expect(emqx.take()).toEqual(CUT_OFF_CALLS("SN-ROT-3").slice(0, 3));
  });

  it("keeps the new generation and still shows the token when EMQX is down", async () => {
    const down = await startApiWith("http://127.0.0.1:9/api/v5");
    try {
      const answer = await down.request("POST", "/v1/devices/SN-ROT-DOWN/credentials");
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        generation: 1,
        token: deriveDeviceToken(SECRET, "SN-ROT-DOWN", 1),
        kicked: false,
        cachesCleared: false,
      });
      expect(answer.body.warning).toMatch(/unreachable.*the change is stored/);
      expect(await identityOf("SN-ROT-DOWN")).toMatchObject({ generation: 1 });
    } finally {
      await down.stop();
    }
  });

  it("answers 503 and changes nothing when the API has no device token secret", async () => {
    const unconfigured = await startApiWith(`${emqx.url}/api/v5`, []);
    try {
      const answer = await unconfigured.request("POST", "/v1/devices/SN-ROT-NONE/credentials");
      expectProblem(answer, 503);
      expect(answer.body.type).toBe("not_configured");
      expect(answer.body.detail).toContain("DEVICE_TOKEN_SECRETS");
      expect(await identityOf("SN-ROT-NONE")).toBeUndefined();
      expect(emqx.calls).toEqual([]);
    } finally {
      await unconfigured.stop();
    }
  });

  it("never logs the token", async () => {
    const lines: string[] = [];
    const capture = (chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    };
    const logged = await startApi(
      {
        ...env.deps,
        sessions: new EmqxSessionsClient({ baseUrl: "http://127.0.0.1:9", apiKey: "k", apiSecret: "s" }),
        deviceTokenSecrets: [SECRET],
      },
      { logger: new Logger({ serviceName: "test", logLevel: "DEBUG" }), keys: adminKeys() },
    );
    const spies = [
      vi.spyOn(process.stdout, "write").mockImplementation(capture),
      vi.spyOn(process.stderr, "write").mockImplementation(capture),
    ];
    let token = "";
    try {
      token = String((await logged.request("POST", "/v1/devices/SN-ROT-LOG/credentials")).body.token);
    } finally {
      for (const spy of spies) spy.mockRestore();
      await logged.stop();
    }
    expect(token).toBe(deriveDeviceToken(SECRET, "SN-ROT-LOG", 1));
    const text = lines.join("");
    expect(text).toContain("device re-keyed");
    expect(text).not.toContain(token.slice(2));
  });
});

describe("PATCH /v1/devices/{sn}", () => {
  it('{"enabled": false} disables the device and kicks it; true enables it again without a kick', async () => {
    await api.request("POST", "/v1/devices/SN-REV-1/credentials");
    emqx.take();
    const revoked = await api.request("PATCH", "/v1/devices/SN-REV-1", { body: { enabled: false } });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({
      device: { sn: "SN-REV-1", enabled: false, generation: 1 },
      kicked: true,
      wasConnected: true,
      cachesCleared: true,
    });
    expect(emqx.take()).toEqual(CUT_OFF_CALLS("SN-REV-1"));
    expect(await identityOf("SN-REV-1")).toMatchObject({ enabled: false, generation: 1 });
    const enabled = await api.request("PATCH", "/v1/devices/SN-REV-1", { body: { enabled: true } });
    expect(enabled.status).toBe(200);
    expect(enabled.body).toEqual({ device: expect.objectContaining({ enabled: true, generation: 1 }) });
    expect(emqx.take()).toEqual([]);
  });

  it("on EMQX 5.8 (no node caches) and a device that is not connected: kicked, wasConnected false", async () => {
    emqx.answer = emqx58(["SN-REV-58"]);
    const answer = await api.request("PATCH", "/v1/devices/SN-REV-58", { body: { enabled: false } });
    expect(answer.body).toMatchObject({ kicked: true, wasConnected: false, cachesCleared: true });
    expect(answer.body.warning).toBeUndefined();
  });

  it("a device that never logged in gets a disabled entry, so it cannot register itself later", async () => {
    const answer = await api.request("PATCH", "/v1/devices/SN-REV-NEW", { body: { enabled: false } });
    expect(answer.body.device).toMatchObject({ enabled: false, generation: 0, registeredBy: "operator" });
    expect(await identityOf("SN-REV-NEW")).toMatchObject({ enabled: false, generation: 0 });
  });

  it("stores the revocation when EMQX is down or refuses the key, and says so (200, kicked false)", async () => {
    const down = await startApiWith("http://127.0.0.1:9/api/v5");
    try {
      const answer = await down.request("PATCH", "/v1/devices/SN-REV-DOWN", { body: { enabled: false } });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ kicked: false, cachesCleared: false });
      expect(answer.body.warning).toMatch(/disconnecting the device failed: EMQX at .* is unreachable/);
      expect(await identityOf("SN-REV-DOWN")).toMatchObject({ enabled: false });
    } finally {
      await down.stop();
    }
    emqx.answer = () => ({ status: 401, body: { code: "BAD_API_KEY_OR_SECRET" } });
    const refused = await api.request("PATCH", "/v1/devices/SN-REV-401", { body: { enabled: false } });
    expect(refused.body).toMatchObject({ kicked: false, cachesCleared: false });
    expect(refused.body.warning).toContain("401 BAD_API_KEY_OR_SECRET");
    expect(refused.body.warning).toContain("EMQX_API_KEY");
    expect(await identityOf("SN-REV-401")).toMatchObject({ enabled: false });
  });

  it("does not read a 404 from a wrong EMQX URL as 'not connected'", async () => {
    emqx.answer = () => ({ status: 404, body: { code: "NOT_FOUND", message: "Request Path Not Found" } });
    const answer = await api.request("PATCH", "/v1/devices/SN-REV-URL", { body: { enabled: false } });
    expect(answer.body).toMatchObject({ kicked: false, cachesCleared: false });
    expect(answer.body.warning).toContain("check EMQX_API_URL");
  });

  it("repeating a revocation asks EMQX again (how a failed kick is retried)", async () => {
    emqx.answer = () => ({ status: 503, body: { code: "SERVICE_UNAVAILABLE" } });
    const failed = await api.request("PATCH", "/v1/devices/SN-REV-AGAIN", { body: { enabled: false } });
    expect(failed.body.kicked).toBe(false);
    emqx.answer = () => ({ status: 204 });
    const retried = await api.request("PATCH", "/v1/devices/SN-REV-AGAIN", { body: { enabled: false } });
    expect(retried.body).toMatchObject({ kicked: true, wasConnected: true, cachesCleared: true });
  });
});

describe("bad input, named", () => {
  const patch = (body: unknown, sn = "SN-BAD") => api.request("PATCH", `/v1/devices/${sn}`, { body });
  const post = (body: unknown, sn = "SN-BAD") =>
    api.request("POST", `/v1/devices/${sn}/credentials`, { body });

  it("PATCH bodies: missing, not JSON, not an object, without enabled, a wrong type, an unknown field", async () => {
    expectProblem(await api.request("PATCH", "/v1/devices/SN-BAD"), 400, "body");
    expectProblem(await patch("{not json"), 400, "body");
    expectProblem(await patch([{ enabled: false }]), 400, "body");
    expectProblem(await patch(null), 400, "body");
    const missing = await patch({});
    expectProblem(missing, 422, "enabled");
    expect(missing.body.detail).toBe("enabled: is required");
    expectProblem(await patch({ enabled: "false" }), 422, "enabled");
    expectProblem(await patch({ enabled: 0 }), 422, "enabled");
    const unknown = await patch({ enabled: false, colour: "red" });
    expectProblem(unknown, 422, "colour");
    expect(unknown.body.detail).toContain("unknown field");
    expectProblem(await patch(`{"enabled":false,"pad":"${"x".repeat(2000)}"}`), 413, "body");
    expect(await identityOf("SN-BAD")).toBeUndefined();
    expect(emqx.calls).toEqual([]);
  });

  it("POST bodies: optional, but when given a JSON object with only kick, a boolean", async () => {
    expectProblem(await post([]), 400, "body");
    expectProblem(await post("42"), 400, "body");
    expectProblem(await post({ kick: "yes" }), 422, "kick");
    expectProblem(await post({ kick: true, generation: 7 }), 422, "generation");
    expect(await identityOf("SN-BAD")).toBeUndefined();
  });

  it("serial numbers that could widen a topic or a key: 400 naming sn", async () => {
    for (const sn of ["SN%2FOTHER", "%2B", "%23", "S%C3%9C", "x".repeat(65)]) {
      expectProblem(await patch({ enabled: false }, sn), 400, "sn");
      expectProblem(await post({}, sn), 400, "sn");
    }
    expect(emqx.calls).toEqual([]);
  });

  it("needs the admin scope: no key 401, a read key 403", async () => {
    expectProblem(
      await api.request("PATCH", "/v1/devices/SN-BAD", { body: { enabled: false }, key: null }),
      401,
    );
    expectProblem(await api.request("POST", "/v1/devices/SN-BAD/credentials", { key: READ_KEY }), 403);
    expectProblem(
      await api.request("PATCH", "/v1/devices/SN-BAD", { body: { enabled: false }, key: READ_KEY }),
      403,
    );
    expect(await identityOf("SN-BAD")).toBeUndefined();
  });
});

describe("GET /v1/devices/{sn}", () => {
  it("shows the identity next to presence, for a device that is only registered too", async () => {
    expectProblem(await api.request("GET", "/v1/devices/SN-SHOW"), 404);
    await api.request("POST", "/v1/devices/SN-SHOW/credentials");
    await api.request("PATCH", "/v1/devices/SN-SHOW", { body: { enabled: false } });
    const answer = await api.request("GET", "/v1/devices/SN-SHOW", { key: READ_KEY });
    expect(answer.status).toBe(200);
    expect(answer.body.device).toEqual({
      sn: "SN-SHOW",
      pendingCommands: 0,
      identity: {
        enabled: false,
        generation: 1,
        registeredBy: "operator",
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
    });
  });

  it("shows when the device last logged in", async () => {
    const at = "2026-11-22T08:00:00.000Z";
    await env.deps.devices.registerIfAbsent({
      sn: "SN-SEEN",
      enabled: true,
      generation: 0,
      createdAt: at,
      registeredBy: "first_login",
      lastLoginAt: at,
    });
    const answer = await api.request("GET", "/v1/devices/SN-SEEN");
    expect(answer.body.device).toMatchObject({
      identity: { enabled: true, generation: 0, registeredBy: "first_login", createdAt: at, lastLoginAt: at },
    });
  });
});

describe("over MQTT: the whole local stack, devices logging in through the EMQX stand-in", () => {
  let stack: LocalStack;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.end(true);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const secret = () => stack.deviceTokenSecrets[0] as string;

  async function connect(sn: string, password: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(stack.endpoints.mqtt, {
      clientId: sn,
      username: sn,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    clients.push(client);
    return client;
  }

  /** The CONNACK return code of a refused login; `undefined` when it was accepted. */
  async function refusal(sn: string, password: string): Promise<number | undefined> {
    try {
      await connect(sn, password);
      return undefined;
    } catch (error) {
      return (error as { code?: number }).code ?? -1;
    }
  }

  const closed = (client: MqttClient) =>
    new Promise<void>((resolve) => (client.connected ? client.once("close", () => resolve()) : resolve()));

  async function call(method: string, path: string, body?: unknown) {
    const response = await fetch(`${stack.endpoints.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${stack.apiKeys[0]}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it("re-keying kicks the live session; the old token is refused, the new one logs in", async () => {
    const sn = "SN-E2E-ROT";
    const oldToken = deriveDeviceToken(secret(), sn);
    const live = await connect(sn, oldToken);
    const gone = closed(live);
    const rotated = await call("POST", `/v1/devices/${sn}/credentials`);
    expect(rotated).toMatchObject({ status: 200, body: { generation: 1, kicked: true, wasConnected: true } });
    await gone;
    expect(await refusal(sn, oldToken)).toBe(5);
    expect(await refusal(sn, String(rotated.body.token))).toBeUndefined();
    // HTTP devices follow the same registry: the new token is accepted on the ingest, the old one is not.
    const post = (token: string) =>
      fetch(`${stack.endpoints.ingest}/v1/devices/${sn}/st`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ online: true }),
      }).then((response) => response.status);
    expect(await post(String(rotated.body.token))).toBe(200);
    expect(await post(oldToken)).toBe(401);
  });

  it("revoking kicks the device within seconds and refuses it until it is enabled again", async () => {
    const sn = "SN-E2E-REV";
    const token = deriveDeviceToken(secret(), sn);
    const live = await connect(sn, token);
    const gone = closed(live);
    const revoked = await call("PATCH", `/v1/devices/${sn}`, { enabled: false });
    expect(revoked).toMatchObject({ status: 200, body: { kicked: true, wasConnected: true } });
    await gone;
    expect(await refusal(sn, token)).toBe(5);
    const shown = await call("GET", `/v1/devices/${sn}`);
    expect(shown.body.device).toMatchObject({
      identity: { enabled: false, registeredBy: "first_login", lastLoginAt: expect.any(String) },
    });
    await call("PATCH", `/v1/devices/${sn}`, { enabled: true });
    await eventually(async () => ((await refusal(sn, token)) === undefined ? true : undefined));
  });
});
