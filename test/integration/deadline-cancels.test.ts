import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoDbPresenceStore } from "../../functions/adapters/dynamodb/presence-store.ts";
import { EmqxPublishClient } from "../../functions/adapters/emqx/publish-client.ts";
import { withDeadline } from "../../functions/core/deadline.ts";
import { DeadlineExceededError } from "../../functions/core/errors.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";

/**
 * A deadline cancels the work it ends: requests still in flight when it passes are aborted on the wire,
 * not left waiting for an answer after the 503 (on Lambda they would resume when the environment thaws).
 * The clients here have timeouts of ten minutes, so only the deadline can close their connections.
 */
const NO_TIMEOUT_MS = 600_000;

let env: TestResources;
let proxy: Awaited<ReturnType<typeof startFaultProxy>>;

beforeAll(async () => {
  env = await createTestResources();
  proxy = await startFaultProxy(env.dynamodbEndpoint);
});
afterAll(async () => {
  await proxy?.stop();
  env?.destroy();
});

describe("a passed deadline", () => {
  it("aborts the DynamoDB request it was waiting for", async () => {
    proxy.set("hang");
    const client = createDynamoDbClient({
      region: "us-east-1",
      endpoint: proxy.url,
      credentials: LOCAL_CREDENTIALS,
      requestTimeoutMs: NO_TIMEOUT_MS,
    });
    const presence = new DynamoDbPresenceStore(client, env.tableName);
    try {
      await expect(withDeadline(() => presence.read("DEADLINE-1"), 200)).rejects.toBeInstanceOf(
        DeadlineExceededError,
      );
      await vi.waitFor(() => expect(proxy.open()).toBe(0), { timeout: 10_000 });
    } finally {
      client.destroy();
      proxy.set("up");
    }
  });

  it("aborts the EMQX publish call it was waiting for", async () => {
    proxy.set("hang");
    const emqx = new EmqxPublishClient({
      baseUrl: proxy.url,
      apiKey: "key",
      apiSecret: "secret",
      timeoutMs: NO_TIMEOUT_MS,
    });
    const request = {
      topic: "t",
      payload: "{}",
      qos: 1 as const,
      retain: false,
      properties: { user_properties: {} },
    };
    try {
      await expect(withDeadline(() => emqx.publishBulk([request]), 200)).rejects.toBeInstanceOf(
        DeadlineExceededError,
      );
      await vi.waitFor(() => expect(proxy.open()).toBe(0), { timeout: 10_000 });
    } finally {
      proxy.set("up");
    }
  });
});
