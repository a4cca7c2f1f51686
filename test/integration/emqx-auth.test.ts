/**
 * The EMQX stand-in with the shipped access configuration (emqx-rules/generated/authentication.json and
 * authorization-*.json) in front of the bridge's real `POST /emqx/authn` route, over real MQTT connections:
 * who may connect, and what each identity may publish and subscribe to.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Logger } from "@aws-lambda-powertools/logger";
import { Hono } from "hono";
import type { IClientOptions, MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { DEVICE_ACL_CONF } from "../../emqx-rules/access-acl.ts";
import { StaticApiKeyStore } from "../../functions/core/api-keys.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { systemClock } from "../../functions/core/ports.ts";
import { bearerAuth } from "../../functions/http/bearer-auth.ts";
import { registerBrokerAuthRoute } from "../../functions/ingest/routes/broker-auth.ts";
import { byEvent, type Harness, runCleanups, startHarness, TOKEN, until } from "../support/emqx-harness.ts";
import { MemoryDeviceRegistry } from "../support/memory/index.ts";

const GENERATED = fileURLToPath(new URL("../../emqx-rules/generated/", import.meta.url));
const SECRET = "a-device-token-secret-of-at-least-32-chars";
const APP_KEY = "bk_dashboard-key-0123456789abcdef0123456789";
const VIEWER_KEY = "bk_viewer-key-0123456789abcdef0123456789ab";
const token = (sn: string) => deriveDeviceToken(SECRET, sn);

afterEach(runCleanups);

/** The bridge's authentication route behind the ingest's bearer token, on in-memory stores. */
function bridgeAuthApp(devices = new MemoryDeviceRegistry()) {
  const app = new Hono();
  app.use("*", bearerAuth([TOKEN]));
  const keys = new StaticApiKeyStore([
    { name: "dashboard", key: APP_KEY, scopes: ["commands"] },
    { name: "viewer", key: VIEWER_KEY, scopes: ["read"] },
  ]);
  registerBrokerAuthRoute(
    app,
    { devices, keys, deviceTokenSecrets: [SECRET], clock: systemClock },
    { registration: "open", sessionLifetimeSeconds: 3600, logger: new Logger({ logLevel: "SILENT" }) },
  );
  return app;
}

async function startSecured(
  authn: (request: Request) => Response | Promise<Response> = bridgeAuthApp().fetch,
) {
  const harness = await startHarness({ access: { dir: GENERATED } });
  harness.receiver.authn = authn;
  return harness;
}

const device = (h: Harness, sn: string, options: IClientOptions = {}) =>
  h.connect(sn, { username: sn, password: token(sn), ...options });

/** The CONNACK return code of a refused connection (MQTT.js rejects with it as `code`). */
async function refusal(connecting: Promise<MqttClient>): Promise<number | undefined> {
  try {
    await connecting;
    return undefined;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

/** The SUBACK's granted QoS per filter (128 = refused); MQTT.js rejects when any is refused. */
async function granted(client: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters)).map((g) => g.qos);
  } catch (error) {
    return (error as { packet: { granted: number[] } }).packet.granted;
  }
}

/** Topics the broker routed (a denied publish is acknowledged but never routed). */
function routedTopics(h: Harness): string[] {
  const topics: string[] = [];
  h.broker.on("publish", (packet, client) => {
    if (client) topics.push(packet.topic);
  });
  return topics;
}

describe("the stand-in asks the authenticator as EMQX would", () => {
  it("posts the rendered body template with the bearer token, and lets a device in with its own token", async () => {
    const h = await startSecured();
    await device(h, "SN7001");
    expect(h.receiver.authnRequests).toHaveLength(1);
    const [request] = h.receiver.authnRequests;
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.body).toEqual({
      clientid: "SN7001",
      username: "SN7001",
      password: token("SN7001"),
      peerhost: "127.0.0.1",
    });
  });

  it("renders an absent username and password as empty strings, and the bridge refuses them", async () => {
    const h = await startSecured();
    expect(await refusal(h.connect("SN7001"))).toBe(5);
    expect(h.receiver.authnRequests[0]?.body).toMatchObject({ username: "", password: "" });
  });
});

describe("devices speak only for themselves", () => {
  it("refuses another device's client id, username or token", async () => {
    const h = await startSecured();
    expect(await refusal(h.connect("SN7001-tool", { username: "SN7001", password: token("SN7001") }))).toBe(
      5,
    );
    expect(await refusal(h.connect("SN7002", { username: "SN7002", password: token("SN7001") }))).toBe(5);
    expect(await refusal(h.connect("SNOTHER", { username: "SNODD1", password: token("SNODD1") }))).toBe(5);
    expect(await refusal(h.connect("SNODD1", { username: "SNODD1", password: "" }))).toBe(5);
  });

  it("refuses client ids with / + # unicode or 1,000 characters, and keys and tokens swapped", async () => {
    const h = await startSecured();
    for (const id of ["SN/7001", "SN+", "#", "SN7001ü", "S".repeat(1000)]) {
      expect(await refusal(h.connect(id, { username: id, password: token(id) })), id).toBe(5);
    }
    expect(await refusal(h.connect("SN7001", { username: "SN7001", password: APP_KEY }))).toBe(5);
    expect(await refusal(h.connect("dashboard", { username: "dashboard", password: token("SN7001") }))).toBe(
      5,
    );
  });

  it("acks but never routes a publish outside the device's own topics, and refuses foreign subscriptions", async () => {
    const h = await startSecured();
    const routed = routedTopics(h);
    const client = await device(h, "SNODD2");
    await client.publishAsync("api/mqtt/v1/SNODD1/evt", '{"user_id":"1","att_time":"x"}', { qos: 1 });
    await client.publishAsync("api/mqtt/v1/SNODD1/st", '{"online":false}', { qos: 0 });
    await client.publishAsync("$SYS/brokers", "x", { qos: 1 });
    await client.publishAsync("api/mqtt/v1/SNODD2/evt", '{"user_id":"2","att_time":"y"}', { qos: 1 });
    await h.receiver.find(byEvent("message.publish", "SNODD2"));
    await h.standIn.idle();
    expect(routed).toEqual(["api/mqtt/v1/SNODD2/evt"]);
    expect(h.receiver.bodies(byEvent("message.publish")).map((b) => b.topic)).toEqual([
      "api/mqtt/v1/SNODD2/evt",
    ]);
    const subscriptions = await granted(client, {
      "api/mqtt/v1/SNODD2/cmd": { qos: 1 },
      "api/mqtt/v1/SNODD1/cmd": { qos: 1 },
      "api/mqtt/v1/+/cmd": { qos: 1 },
      "#": { qos: 0 },
    });
    expect(subscriptions).toEqual([1, 128, 128, 128]);
    expect(client.connected).toBe(true);
  });

  it("publishes a device's own will, and drops a will on another device's topic", async () => {
    const h = await startSecured();
    const routed = routedTopics(h);
    const own = await device(h, "SNW1", {
      will: { topic: "api/mqtt/v1/SNW1/st", payload: Buffer.from("{}"), qos: 1, retain: false },
    });
    const forged = await device(h, "SNW2", {
      will: { topic: "api/mqtt/v1/SNW9/st", payload: Buffer.from("{}"), qos: 1, retain: false },
    });
    forged.stream.destroy();
    await h.receiver.find(byEvent("client.disconnected", "SNW2"));
    own.stream.destroy();
    await h.receiver.find((b) => b.event === "message.publish" && b.topic === "api/mqtt/v1/SNW1/st");
    await h.standIn.idle();
    expect(routed).toEqual(["api/mqtt/v1/SNW1/st"]);
    expect(h.logs).toContain("emqx: will of SNW2 to api/mqtt/v1/SNW9/st denied");
  });
});

describe("applications reach only their own prefix", () => {
  it("connects an app with its key and confines it to app/v1/{its id}/… and, with read, the fleet feed", async () => {
    const h = await startSecured();
    const routed = routedTopics(h);
    const app = await h.connect("dashboard/tab-1", { username: "dashboard", password: APP_KEY });
    const subscriptions = await granted(app, {
      "app/v1/dashboard/responses/#": { qos: 1 },
      "app/v1/viewer/responses/#": { qos: 1 },
      "fleet/v1/#": { qos: 0 },
      "api/mqtt/v1/+/evt": { qos: 0 },
    });
    expect(subscriptions).toEqual([1, 128, 128, 128]);
    await app.publishAsync("app/v1/viewer/requests", "{}", { qos: 1 });
    await app.publishAsync("api/mqtt/v1/SN7001/ack", "{}", { qos: 1 });
    await app.publishAsync("app/v1/dashboard/requests", "{}", { qos: 1 });
    await until(() => routed.length > 0);
    expect(routed).toEqual(["app/v1/dashboard/requests"]);

    const viewer = await h.connect("viewer", { username: "viewer", password: VIEWER_KEY });
    expect(await granted(viewer, { "fleet/v1/#": { qos: 0 } })).toEqual([0]);
  });

  it("refuses an app whose client id is not its key id", async () => {
    const h = await startSecured();
    expect(await refusal(h.connect("viewer", { username: "dashboard", password: APP_KEY }))).toBe(5);
    expect(await refusal(h.connect("dashboard/../x", { username: "dashboard", password: APP_KEY }))).toBe(5);
  });
});

describe("when the authenticator fails, EMQX refuses the client", () => {
  it("refuses on a 500, a 401, a missing content-type, and a 200 without a result", async () => {
    const answers = [
      new Response("oops", { status: 500 }),
      new Response('{"result":"deny"}', { status: 401, headers: { "content-type": "application/json" } }),
      new Response('{"result":"allow"}', { status: 200 }),
      Response.json({ is_superuser: true }),
    ];
    const h = await startSecured(() => answers.shift() as Response);
    for (let i = 0; i < 4; i++) expect(await refusal(device(h, "SN7001"))).toBe(5);
    expect(h.logs.filter((line) => line.includes("ignored"))).toHaveLength(4);
  });

  it("refuses when the authenticator is unreachable or does not answer in time", async () => {
    const unreachable = await startHarness({ access: { dir: GENERATED }, ingestUrl: "http://127.0.0.1:9" });
    expect(await refusal(device(unreachable, "SN7001"))).toBe(5);
    const silent = await startHarness({ access: { dir: GENERATED, requestTimeoutMs: 300 } });
    silent.receiver.authn = () => new Promise<Response>(() => undefined);
    expect(await refusal(device(silent, "SN7001"))).toBe(5);
    expect(silent.logs.join("\n")).toContain("(timeout)");
  });

  it("reads a malformed allow as 'bad username or password'", async () => {
    const h = await startSecured(() =>
      Response.json({ result: "allow", acl: [{ permission: "maybe", action: "all", topic: "#" }] }),
    );
    expect(await refusal(device(h, "SN7001"))).toBe(4);
  });
});

describe("sessions end when the bridge says so", () => {
  it("disconnects a client at its expire_at, with EMQX's reason", async () => {
    const h = await startSecured(() =>
      Response.json({ result: "allow", expire_at: Math.floor(Date.now() / 1000) + 1, acl: [] }),
    );
    const client = await device(h, "SNEXP1");
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await closed;
    const event = await h.receiver.find(byEvent("client.disconnected", "SNEXP1"));
    expect(event.reason).toBe("not_authorized");
  });

  it("kicks a client through DELETE /api/v5/clients/{clientid}; clearing the authorization cache answers 204", async () => {
    const h = await startSecured();
    const client = await device(h, "SNKICK");
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    expect((await apiDelete(h, "/clients/SNKICK")).status).toBe(204);
    await closed;
    expect((await h.receiver.find(byEvent("client.disconnected", "SNKICK"))).reason).toBe("kicked");
    expect((await apiDelete(h, "/clients/SNKICK")).status).toBe(404);
    expect((await apiDelete(h, "/authorization/cache")).status).toBe(204);
  });
});

describe("the no-HTTP alternative (emqx-rules/acl.conf)", () => {
  it("confines each client to its own serial's topics, and refuses ids that could widen a topic", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emqx-access-"));
    const authenticator = JSON.parse(readFileSync(join(GENERATED, "authentication.json"), "utf8"));
    writeFileSync(join(dir, "authentication.json"), JSON.stringify({ ...authenticator, enable: false }));
    writeFileSync(join(dir, "authorization-settings.json"), JSON.stringify({ no_match: "deny" }));
    writeFileSync(
      join(dir, "authorization-sources.json"),
      JSON.stringify([{ type: "file", rules: DEVICE_ACL_CONF }]),
    );
    const h = await startHarness({ access: { dir } });
    rmSync(dir, { recursive: true });
    const routed = routedTopics(h);
    const own = await h.connect("SNF1", { username: "SNF1" });
    const widened = await h.connect("+", { username: "+" });
    expect(
      await granted(own, { "api/mqtt/v1/SNF1/cmd": { qos: 1 }, "api/mqtt/v1/SNF2/cmd": { qos: 1 } }),
    ).toEqual([1, 128]);
    expect(await granted(widened, { "api/mqtt/v1/+/cmd": { qos: 1 } })).toEqual([128]);
    await widened.publishAsync("api/mqtt/v1/SNF2/evt", "{}", { qos: 1 });
    await own.publishAsync("api/mqtt/v1/SNF2/evt", "{}", { qos: 1 });
    await own.publishAsync("api/mqtt/v1/SNF1/evt", "{}", { qos: 1 });
    await until(() => routed.length > 0);
    expect(routed).toEqual(["api/mqtt/v1/SNF1/evt"]);
  });
});

async function apiDelete(h: Harness, path: string) {
  const auth = `Basic ${Buffer.from("bridge-key:bridge-secret").toString("base64")}`;
  return fetch(`${h.standIn.apiUrl}${path}`, { method: "DELETE", headers: { authorization: auth } });
}
