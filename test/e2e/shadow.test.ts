/**
 * Device shadow end to end: API → DynamoDB Local → commands queue → publisher → EMQX stand-in → aedes →
 * a real MQTT device (broker authentication and ACL on), and HTTP devices on the ingest with their token.
 */
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { HTTP_POLL_REASON } from "../../functions/core/device-transport.ts";
import { formatShadowReport, runShadowSimulation } from "../../local/simulator/shadow.ts";
import type { LocalStack } from "../../local/stack.ts";
import { deviceLogin, eventually, startTestStack } from "../support/local-stack.ts";
import { uniqueName } from "../support/resources.ts";
import { takeMessages } from "../support/take-messages.ts";

let stack: LocalStack;
const clients: MqttClient[] = [];

beforeAll(async () => {
  // Its own commands queue: another file's stack must not take this one's deltas.
  stack = await startTestStack({
    apiKeys: ["e2e-api-key-0123456789abcdef"],
    commandsQueue: uniqueName("commands"),
  });
});
afterEach(() => {
  for (const client of clients.splice(0)) client.end(true);
});
afterAll(async () => {
  await stack.stop();
});

type Json = Record<string, unknown>;

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.endpoints.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.apiKeys[0]}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: (await response.json()) as Json,
  };
}

/** What an HTTP device does: its own derived token on the ingest's device routes. */
async function device(method: string, sn: string, path: string, body?: unknown) {
  const token = deriveDeviceToken(stack.deviceTokenSecrets[0] as string, sn);
  const response = await fetch(`${stack.endpoints.ingest}/v1/devices/${sn}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Json };
}

/** An MQTT device: connects as itself, subscribes to its delta topic, then says it is online. */
async function mqttDevice(sn: string) {
  const client = await mqtt.connectAsync(stack.endpoints.mqtt, {
    clientId: sn,
    protocolVersion: 4,
    reconnectPeriod: 0,
    ...deviceLogin(stack, sn),
  });
  clients.push(client);
  const deltas: Json[] = [];
  client.on("message", (topic, payload) => {
    if (topic === `api/mqtt/v1/${sn}/shadow/delta`) deltas.push(JSON.parse(payload.toString()));
  });
  await client.subscribeAsync(`api/mqtt/v1/${sn}/shadow/delta`, { qos: 1 });
  await client.publishAsync(`api/mqtt/v1/${sn}/st`, '{"online":true}', { qos: 1 });
  return { client, deltas };
}

/** The shadow messages on the users' events queue so far (this file's stack has its own queue). */
const fannedOut: Json[] = [];
async function shadowEvent(sn: string, version: number): Promise<Json | undefined> {
  const sqs = createSqsClient({
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.sqs,
  });
  try {
    return await eventually(async () => {
      fannedOut.push(...(await takeMessages<Json>(sqs, stack.eventsQueueUrl)));
      return fannedOut.find(
        (m) => m.type === "shadow" && m.sn === sn && (m.data as Json).version === version,
      );
    });
  } finally {
    sqs.destroy();
  }
}

const shadowOf = async (sn: string) => (await api("GET", `/v1/devices/${sn}/shadow`)).body.shadow as Json;
const commandOf = async (sn: string, id: string) =>
  (await api("GET", `/v1/devices/${sn}/commands/${id}`)).body.command as Json | undefined;
const reaches = (sn: string, id: string, status: string) =>
  eventually(async () => {
    const command = await commandOf(sn, id);
    return command?.status === status ? command : undefined;
  });

describe("device shadow over MQTT", () => {
  it("gives a device that was offline only the newest delta when it connects, and takes its report", async () => {
    expect(
      (await api("PATCH", "/v1/devices/SHD-1/shadow", { desired: { fan: true }, version: 0 })).status,
    ).toBe(200);
    await reaches("SHD-1", "shadow-delta-1", "pending");
    const patched = await api("PATCH", "/v1/devices/SHD-1/shadow", { desired: { level: 3 }, version: 1 });
    expect(patched.body.shadow).toMatchObject({ version: 2, delta: { fan: true, level: 3 } });
    expect(await reaches("SHD-1", "shadow-delta-1", "expired")).toMatchObject({
      reason: expect.stringContaining("superseded"),
    });
    await reaches("SHD-1", "shadow-delta-2", "pending");

    const { client, deltas } = await mqttDevice("SHD-1");
    await eventually(async () => (deltas.length > 0 ? true : undefined));
    expect(deltas).toEqual([{ version: 2, state: { fan: true, level: 3 } }]);

    await client.publishAsync(
      "api/mqtt/v1/SHD-1/shadow/update",
      JSON.stringify({ reported: { fan: true, level: 3 } }),
      {
        qos: 1,
      },
    );
    const reported = await eventually(async () => {
      const shadow = await shadowOf("SHD-1");
      return shadow.version === 3 ? shadow : undefined;
    });
    expect(reported).toMatchObject({ reported: { fan: true, level: 3 }, delta: {} });
    expect(Object.keys((reported.metadata as { reported: Json }).reported).sort()).toEqual(["fan", "level"]);
  });

  it("answers 409 to a change made against a stale version, naming the field", async () => {
    await api("PATCH", "/v1/devices/SHD-2/shadow", { desired: { a: 1 } });
    const stale = await api("PATCH", "/v1/devices/SHD-2/shadow", { desired: { a: 2 }, version: 0 });
    expect(stale.status).toBe(409);
    expect(stale.type).toContain("application/problem+json");
    expect(stale.body).toMatchObject({ field: "version", currentVersion: 1 });
    expect((await shadowOf("SHD-2")).desired).toEqual({ a: 1 });
  });

  it("answers 422 naming the key a shadow refuses", async () => {
    const bad = await api("PATCH", "/v1/devices/SHD-2/shadow", { desired: { light: { "no.dots": 1 } } });
    expect(bad).toMatchObject({ status: 422, body: { field: "desired.light.no.dots" } });
  });

  it("lets a device report only its own shadow: another device's topics are denied by the ACL", async () => {
    const { client } = await mqttDevice("SHD-3");
    await client.publishAsync("api/mqtt/v1/SHD-4/shadow/update", '{"reported":{"forged":true}}', { qos: 1 });
    await client.publishAsync("api/mqtt/v1/SHD-3/shadow/update", '{"reported":{"own":true}}', { qos: 1 });
    await eventually(async () => ((await shadowOf("SHD-3")).version === 1 ? true : undefined));
    await stack.emqx.idle();
    expect(await shadowOf("SHD-4")).toMatchObject({ version: 0, reported: {} });
    const granted = await client
      .subscribeAsync("api/mqtt/v1/SHD-4/shadow/delta", { qos: 1 })
      .catch((error) => {
        return (error as { packet: { granted: number[] } }).packet.granted.map((qos) => ({ qos }));
      });
    expect(granted[0]?.qos).toBeGreaterThanOrEqual(128);
  });
});

describe("HTTP devices", () => {
  it("read the delta with their token and report over HTTP", async () => {
    await api("PATCH", "/v1/devices/SHD-H1/shadow", { desired: { mode: "eco", volume: 4 } });
    expect(await device("GET", "SHD-H1", "/shadow")).toEqual({
      status: 200,
      body: { version: 1, state: { mode: "eco", volume: 4 } },
    });
    const answer = await device("POST", "SHD-H1", "/shadow", { reported: { mode: "eco" } });
    expect(answer).toMatchObject({
      status: 200,
      body: { result: "shadow", version: 2, state: { volume: 4 } },
    });
    expect(await shadowOf("SHD-H1")).toMatchObject({ reported: { mode: "eco" }, delta: { volume: 4 } });
    expect(await shadowEvent("SHD-H1", 2)).toMatchObject({
      data: { desired: { mode: "eco", volume: 4 }, reported: { mode: "eco" }, delta: { volume: 4 } },
    });
    expect((await device("GET", "SHD-H2", "/shadow", undefined)).status).toBe(200);
  });

  it("get a 422 naming the field for a bad report, which is quarantined", async () => {
    const bad = await device("POST", "SHD-H3", "/shadow", { reported: { "a.b": 1 } });
    expect(bad).toMatchObject({ status: 422, body: { field: "payload.reported.a.b" } });
    expect(bad.body.quarantineId).toEqual(expect.any(String));
    expect(await shadowOf("SHD-H3")).toMatchObject({ version: 0 });
  });

  it("refuses another device's token", async () => {
    const token = deriveDeviceToken(stack.deviceTokenSecrets[0] as string, "SHD-H1");
    const response = await fetch(`${stack.endpoints.ingest}/v1/devices/SHD-H9/shadow`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(401);
  });

  it("take commands by polling when their transport is http: pending for the poll, then acked", async () => {
    expect((await api("PUT", "/v1/devices/HTTP-1/transport", { transport: "http" })).status).toBe(200);
    await api("POST", "/v1/devices/HTTP-1/commands", { id: "poll-1", op: "sync_user", ttlSeconds: 600 });
    expect(await reaches("HTTP-1", "poll-1", "pending")).toMatchObject({ reason: HTTP_POLL_REASON });
    const polled = await device("GET", "HTTP-1", "/commands/next?wait=5");
    expect(polled).toEqual({ status: 200, body: { id: "poll-1", op: "sync_user", data: {} } });
    expect((await commandOf("HTTP-1", "poll-1"))?.status).toBe("delivered");
    expect(
      (await device("POST", "HTTP-1", "/ack", { id: "poll-1", ok: true, result: { n: 1 } })).status,
    ).toBe(200);
    expect(await commandOf("HTTP-1", "poll-1")).toMatchObject({ status: "acked", result: { n: 1 } });
    expect((await device("GET", "HTTP-1", "/commands/next")).status).toBe(204);
    await api("PUT", "/v1/devices/HTTP-1/transport", { transport: "mqtt" });
    expect((await api("GET", "/v1/devices/HTTP-1/transport")).body).toEqual({
      sn: "HTTP-1",
      transport: "mqtt",
    });
  });
});

describe("a device moved from http to mqtt", () => {
  it("gets the commands that waited for its poll over MQTT at once, without reconnecting", async () => {
    expect((await api("PUT", "/v1/devices/HTTP-2/transport", { transport: "http" })).status).toBe(200);
    await api("POST", "/v1/devices/HTTP-2/commands", { id: "move-1", op: "sync_user", ttlSeconds: 600 });
    expect(await reaches("HTTP-2", "move-1", "pending")).toMatchObject({ reason: HTTP_POLL_REASON });
    const { client } = await mqttDevice("HTTP-2");
    const received: string[] = [];
    client.on("message", (topic, payload) => {
      if (topic === "api/mqtt/v1/HTTP-2/cmd") received.push(JSON.parse(payload.toString()).id);
    });
    await client.subscribeAsync("api/mqtt/v1/HTTP-2/cmd", { qos: 1 });
    await eventually(async () => {
      const device = (await api("GET", "/v1/devices/HTTP-2")).body.device as Json | undefined;
      return device?.online === true ? true : undefined;
    });

    const moved = await api("PUT", "/v1/devices/HTTP-2/transport", { transport: "mqtt" });

    expect(moved.body).toEqual({ sn: "HTTP-2", transport: "mqtt", requeued: 1 });
    await reaches("HTTP-2", "move-1", "delivered");
    expect(received).toEqual(["move-1"]);
  });
});

describe("npm run sim -- --shadow", () => {
  it("brings every simulated device in sync, each getting only the newest of its offline deltas", async () => {
    const api = { url: stack.endpoints.api, key: stack.apiKeys[0] as string };
    const secret = stack.deviceTokenSecrets[0] as string;
    const run = await runShadowSimulation({
      devices: 5,
      mqttUrl: stack.endpoints.mqtt,
      api,
      deviceTokenSecret: secret,
    });
    expect(run.rows.map((row) => row.inSync)).toEqual([true, true, true, true, true]);
    expect(run.superseded).toBe(5);
    for (const row of run.rows) expect(row.version).toBeGreaterThanOrEqual(4);
    expect(formatShadowReport(run)).toContain("devices in sync: 5/5");
  });
});
