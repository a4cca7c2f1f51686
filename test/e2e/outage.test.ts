import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import type { LocalStack } from "../../local/stack.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { deviceLogin, eventually, startTestStack } from "../support/local-stack.ts";
import { userReads } from "../support/user-reads.ts";

let stack: LocalStack;
let proxy: Awaited<ReturnType<typeof startFaultProxy>>;

beforeAll(async () => {
  proxy = await startFaultProxy(inject("dynamodbEndpoint"));
  stack = await startTestStack({ dynamodbEndpoint: proxy.url });
});
afterAll(async () => {
  await stack.stop();
  await proxy.stop();
});

describe("a DynamoDB outage seen end to end", () => {
  it("loses nothing: EMQX retries the 503s and every punch is stored once when DynamoDB is back", async () => {
    const device = await mqtt.connectAsync(stack.endpoints.mqtt, {
      clientId: "OUT-1",
      ...deviceLogin(stack, "OUT-1"),
      reconnectPeriod: 0,
    });
    proxy.set("refuse");
    for (let i = 0; i < 5; i++) {
      const punch = { user_id: String(i), att_time: "2026-11-22 07:00:00", att_state: 0 };
      await device.publishAsync("api/mqtt/v1/OUT-1/evt", JSON.stringify(punch), { qos: 1 });
    }
    // The worker holding the device's requests is blocked and retrying before DynamoDB comes back.
    await eventually(async () => (stack.emqx.metrics().retried >= 5 ? true : undefined));
    proxy.set("up");
    await stack.emqx.idle();
    const dynamodb = createDynamoDbClient({
      region: "us-east-1",
      credentials: LOCAL_CREDENTIALS,
      endpoint: inject("dynamodbEndpoint"),
    });
    try {
      expect(await userReads({ dynamodb, tableName: stack.tableName }).attendance("OUT-1")).toHaveLength(5);
    } finally {
      dynamodb.destroy();
    }
    expect(stack.emqx.metrics().droppedExpired).toBe(0);
    await device.endAsync();
  });
});
