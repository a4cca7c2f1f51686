/**
 * The API over MQTT end to end, over real sockets: an app logged in to the broker with its API key →
 * aedes + the EMQX stand-in (authentication on, the shipped rules) → the API's `POST /emqx/app-requests`
 * → the same API routes as REST → DynamoDB Local → EMQX's publish API → the app's response topic.
 */
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbApiKeyStore } from "../../functions/adapters/dynamodb/api-key-store.ts";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { newApiKey, type Scope } from "../../functions/core/api-keys.ts";
import { SimulatedDevice } from "../../local/simulator/device.ts";
import type { LocalStack } from "../../local/stack.ts";
import { eventually, startTestStack } from "../support/local-stack.ts";
import { uniqueName } from "../support/resources.ts";

interface Answer {
  requestId: string | null;
  status: number;
  body: Record<string, unknown>;
}

/** An app on the broker: its key, and every answer it received by topic. */
interface App {
  name: string;
  key: string;
  client: MqttClient;
  answers: Map<string, Answer[]>;
}

let stack: LocalStack;
let keyStore: DynamoDbApiKeyStore;
let dynamodb: ReturnType<typeof createDynamoDbClient>;
const clients: MqttClient[] = [];
const devices: SimulatedDevice[] = [];
let ops: App;
let viewer: App;

beforeAll(async () => {
  stack = await startTestStack({ commandsQueue: uniqueName("commands") });
  dynamodb = createDynamoDbClient({
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.dynamodb,
  });
  keyStore = new DynamoDbApiKeyStore(dynamodb, stack.tableName);
  ops = await appOnline("mqtt-ops", ["read", "commands"]);
  viewer = await appOnline("mqtt-viewer", ["read"]);
});
afterAll(async () => {
  for (const client of clients) client.end(true);
  for (const device of devices) await device.disconnect().catch(() => undefined);
  dynamodb?.destroy();
  await stack?.stop();
});

async function appOnline(name: string, scopes: Scope[]): Promise<App> {
  const { key, record } = newApiKey(name, scopes);
  // On a busy machine the SDK may retry a put that did land; the key is there either way.
  await keyStore.put(record).catch((error: Error) => {
    if (error.name !== "ConditionalCheckFailedException") throw error;
  });
  const client = await mqtt.connectAsync(stack.endpoints.mqtt, {
    clientId: `${name}/e2e`,
    username: name,
    password: key,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  clients.push(client);
  const answers = new Map<string, Answer[]>();
  client.on("message", (topic, payload) => {
    answers.set(topic, [...(answers.get(topic) ?? []), JSON.parse(payload.toString()) as Answer]);
  });
  await client.subscribeAsync(`app/v1/${name}/responses/#`, { qos: 1 });
  return { name, key, client, answers };
}

/** Publishes `payload` on the app's request topic (QoS 1) and waits for `count` answers on `answerLevel`. */
async function ask(app: App, payload: string, answerLevel: string, count = 1): Promise<Answer[]> {
  await app.client.publishAsync(`app/v1/${app.name}/requests`, payload, { qos: 1 });
  return awaitAnswers(app, answerLevel, count);
}

function awaitAnswers(app: App, answerLevel: string, count = 1): Promise<Answer[]> {
  const topic = `app/v1/${app.name}/responses/${answerLevel}`;
  return eventually(async () => {
    const received = app.answers.get(topic) ?? [];
    return received.length >= count ? received : undefined;
  });
}

const request = (fields: Record<string, unknown>) => JSON.stringify(fields);

async function rest(app: App, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.endpoints.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${app.key}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function deviceOnline(sn: string) {
  const device = new SimulatedDevice(sn, stack.endpoints.mqtt);
  devices.push(device);
  await device.connect();
  // Online, and its view settled (the status message after its login updates lastSeenAt once).
  let last = "";
  await eventually(async () => {
    const { body } = await rest(ops, "GET", `/v1/devices/${sn}`);
    const seen = JSON.stringify(body);
    const settled = seen === last && (body.device as { online?: boolean } | undefined)?.online === true;
    last = seen;
    return settled ? true : undefined;
  });
}

describe("a request over MQTT gets the answer REST gives", () => {
  it("GET a device: same status and body", async () => {
    await deviceOnline("MQAPI-1");
    const [answer] = await ask(
      ops,
      request({ requestId: "get-1", method: "GET", path: "/v1/devices/MQAPI-1" }),
      "get-1",
    );
    const viaRest = await rest(ops, "GET", "/v1/devices/MQAPI-1");
    expect(answer).toEqual({ requestId: "get-1", status: viaRest.status, body: viaRest.body });
    expect(answer?.status).toBe(200);
  });

  it("POST a command: 202 with the command, as REST answers the same command", async () => {
    const command = { id: "mq-cmd-1", op: "sync_user", data: { u: 1 } };
    const [answer] = await ask(
      ops,
      request({ requestId: "post-1", method: "POST", path: "/v1/devices/MQAPI-2/commands", body: command }),
      "post-1",
    );
    const viaRest = await rest(ops, "POST", "/v1/devices/MQAPI-2/commands", command);
    expect(answer?.status).toBe(viaRest.status);
    expect(answer?.status).toBe(202);
    const mqttCommand = answer?.body.command as Record<string, unknown>;
    const restCommand = viaRest.body.command as Record<string, unknown>;
    // The command moves on between the two calls (queued, then pending): who it is stays the same.
    for (const field of ["id", "sn", "op", "data", "createdAt"])
      expect(mqttCommand[field]).toEqual(restCommand[field]);
  });

  it("a query string goes in `query`: the list answers as REST does", async () => {
    const [answer] = await ask(
      ops,
      request({
        requestId: "list-1",
        method: "GET",
        path: "/v1/devices/MQAPI-2/commands",
        query: { limit: "1" },
      }),
      "list-1",
    );
    const viaRest = await rest(ops, "GET", "/v1/devices/MQAPI-2/commands?limit=1");
    expect(answer?.status).toBe(200);
    expect(answer?.body.items).toHaveLength((viaRest.body.items as unknown[]).length);
  });
});

describe("a repeated requestId", () => {
  it("gets the same answer, and the command (no id: the server makes one) is created once", async () => {
    const payload = request({
      requestId: "dup-1",
      method: "POST",
      path: "/v1/devices/MQAPI-3/commands",
      body: { op: "reboot" },
    });
    // Back to back: the second arrives while the first may still be running.
    await ops.client.publishAsync(`app/v1/${ops.name}/requests`, payload, { qos: 1 });
    const answers = await ask(ops, payload, "dup-1", 2);
    const again = await ask(ops, payload, "dup-1", 3);
    expect(answers[0]?.status).toBe(202);
    expect(again).toEqual([answers[0], answers[0], answers[0]]);
    const listed = await rest(ops, "GET", "/v1/devices/MQAPI-3/commands");
    expect((listed.body.items as Array<{ id: string }>).map((c) => c.id)).toEqual([
      ((answers[0] as Answer).body.command as { id: string }).id,
    ]);
  });
});

describe("the key's scopes apply", () => {
  it("an app with only `read` cannot send a command: 403, and nothing is created", async () => {
    const [answer] = await ask(
      viewer,
      request({
        requestId: "cmd-1",
        method: "POST",
        path: "/v1/devices/MQAPI-4/commands",
        body: { op: "reboot" },
      }),
      "cmd-1",
    );
    expect(answer?.status).toBe(403);
    expect(answer?.body).toMatchObject({ type: "forbidden", status: 403 });
    const listed = await rest(ops, "GET", "/v1/devices/MQAPI-4/commands");
    expect(listed.body.items).toEqual([]);
  });

  it("a key revoked after its login gets 401, never silence", async () => {
    const gone = await appOnline("mqtt-gone", ["admin"]);
    await keyStore.revoke("mqtt-gone");
    const [answer] = await ask(
      gone,
      request({ requestId: "r-1", method: "GET", path: "/v1/devices" }),
      "r-1",
    );
    expect(answer).toMatchObject({ requestId: "r-1", status: 401, body: { type: "unauthorized" } });
  });
});

describe("bad requests get an error answer", () => {
  it("malformed JSON: 400 on responses/_unreadable", async () => {
    const [answer] = await ask(ops, "{not json", "_unreadable");
    expect(answer).toMatchObject({
      requestId: null,
      status: 400,
      body: { type: "invalid_request", field: "payload" },
    });
  });

  it("a readable requestId with a bad field: 400 naming the field, on its own topic", async () => {
    const [answer] = await ask(
      ops,
      request({ requestId: "bad-1", method: "FETCH", path: "/v1/devices" }),
      "bad-1",
    );
    expect(answer).toMatchObject({ status: 400, body: { field: "method" } });
  });

  it("an invalid body answers the route's own 422 problem", async () => {
    const [answer] = await ask(
      ops,
      request({
        requestId: "bad-2",
        method: "POST",
        path: "/v1/devices/MQAPI-5/commands",
        body: { op: "a b" },
      }),
      "bad-2",
    );
    expect(answer).toMatchObject({ status: 422, body: { field: "op" } });
  });

  it("a body over the API's limit: 413", async () => {
    const body = { op: "big", data: { blob: "x".repeat(300 * 1024) } };
    const [answer] = await ask(
      ops,
      request({ requestId: "big-1", method: "POST", path: "/v1/devices/MQAPI-6/commands", body }),
      "big-1",
    );
    expect(answer).toMatchObject({ status: 413, body: { type: "body_too_large" } });
  });
});
