/**
 * Broker authentication end to end: MQTT clients → aedes + the EMQX stand-in (authentication on, the
 * shipped access configuration) → the ingest's `POST /emqx/authn` → DynamoDB Local, and back.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbApiKeyStore } from "../../functions/adapters/dynamodb/api-key-store.ts";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoDbDeviceRegistry } from "../../functions/adapters/dynamodb/device-registry.ts";
import { newApiKey } from "../../functions/core/api-keys.ts";
import type { LocalStack } from "../../local/stack.ts";
import { deviceLogin, eventually, startTestStack } from "../support/local-stack.ts";
import { userReads } from "../support/user-reads.ts";

let stack: LocalStack;
let dynamodb: ReturnType<typeof createDynamoDbClient>;
const clients: MqttClient[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  dynamodb = createDynamoDbClient({
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.dynamodb,
  });
});
afterEach(() => {
  for (const client of clients.splice(0)) client.end(true);
});
afterAll(async () => {
  dynamodb.destroy();
  await stack.stop();
});

async function connect(clientId: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(stack.endpoints.mqtt, {
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    ...options,
  });
  clients.push(client);
  return client;
}

/** The CONNACK return code of a refused connection, `undefined` when it was accepted. */
async function refusal(clientId: string, options: IClientOptions): Promise<number | undefined> {
  try {
    await connect(clientId, options);
    return undefined;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

async function granted(client: MqttClient, filter: string): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, { qos: 1 }))[0]?.qos ?? -1;
  } catch (error) {
    return (error as { packet: { granted: number[] } }).packet.granted[0] ?? -1;
  }
}

const punch = (user: string) =>
  JSON.stringify({ user_id: user, att_time: "2026-11-22 08:30:00", att_state: 0 });
/** The device's attendance as the operations API reads it. */
const punches = (sn: string) => userReads({ dynamodb, tableName: stack.tableName }).attendance(sn);

describe("devices speak only for themselves", () => {
  it("cannot connect with another device's client id or token", async () => {
    expect(await refusal("SN7001-tool", deviceLogin(stack, "SN7001"))).toBe(5);
    expect(
      await refusal("SN7002", { username: "SN7002", password: deviceLogin(stack, "SN7001").password }),
    ).toBe(5);
    expect(await refusal("SN7001", { username: "SN7001", password: "" })).toBe(5);
    expect(await refusal("SN7001", {})).toBe(5);
  });

  it("cannot publish for another device: the punch is acked but never stored", async () => {
    const forger = await connect("SNOTHER", deviceLogin(stack, "SNOTHER"));
    await forger.publishAsync("api/mqtt/v1/SNODD1/evt", punch("666"), { qos: 1 });
    await forger.publishAsync("api/mqtt/v1/SNOTHER/evt", punch("7"), { qos: 1 });
    await eventually(async () => ((await punches("SNOTHER")).length === 1 ? true : undefined));
    await stack.emqx.idle();
    expect(await punches("SNODD1")).toEqual([]);
    expect(await granted(forger, "api/mqtt/v1/SNODD1/cmd")).toBe(128);
    expect(await granted(forger, "api/mqtt/v1/SNOTHER/cmd")).toBe(1);
  });

  it("is cut off when revoked and cannot log in again", async () => {
    const device = await connect("SNREV1", deviceLogin(stack, "SNREV1"));
    const closed = new Promise<void>((resolve) => device.once("close", () => resolve()));
    // What revoking does: the registry entry is disabled, then EMQX is told to kick the live session.
    await new DynamoDbDeviceRegistry(dynamodb, stack.tableName).setEnabled(
      "SNREV1",
      false,
      new Date().toISOString(),
    );
    const basic = Buffer.from(`${stack.emqxApiKey}:${stack.emqxApiSecret}`).toString("base64");
    const kicked = await fetch(`${stack.endpoints.emqxApi}/clients/SNREV1`, {
      method: "DELETE",
      headers: { authorization: `Basic ${basic}` },
    });
    expect(kicked.status).toBe(204);
    await closed;
    expect(await refusal("SNREV1", deviceLogin(stack, "SNREV1"))).toBe(5);
  });
});

describe("applications log in with an API key", () => {
  it("reach only app/v1/{key id}/… and, with read, the fleet feed", async () => {
    const { key, record } = newApiKey("e2e-dashboard", ["read"]);
    await new DynamoDbApiKeyStore(dynamodb, stack.tableName).put(record);
    const app = await connect("e2e-dashboard/tab", { username: "e2e-dashboard", password: key });
    expect(await granted(app, "app/v1/e2e-dashboard/responses/#")).toBe(1);
    expect(await granted(app, "fleet/v1/#")).toBe(1);
    expect(await granted(app, "app/v1/someone-else/responses/#")).toBe(128);
    expect(await granted(app, "api/mqtt/v1/+/evt")).toBe(128);
    await app.publishAsync("api/mqtt/v1/SNAPP1/evt", punch("1"), { qos: 1 });
    const device = await connect("SNAPP2", deviceLogin(stack, "SNAPP2"));
    await device.publishAsync("api/mqtt/v1/SNAPP2/evt", punch("2"), { qos: 1 });
    await eventually(async () => ((await punches("SNAPP2")).length === 1 ? true : undefined));
    await stack.emqx.idle();
    expect(await punches("SNAPP1")).toEqual([]);
  });

  it("cannot use its key as a device token, nor a device token as a key", async () => {
    const { key, record } = newApiKey("e2e-tool", ["commands"]);
    await new DynamoDbApiKeyStore(dynamodb, stack.tableName).put(record);
    expect(await refusal("SN7003", { username: "SN7003", password: key })).toBe(5);
    expect(
      await refusal("e2e-tool", { username: "e2e-tool", password: deviceLogin(stack, "SN7003").password }),
    ).toBe(5);
  });
});
