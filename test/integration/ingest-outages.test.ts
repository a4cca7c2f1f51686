import { ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import { publishBody } from "../support/emqx-bodies.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { startIngest } from "../support/ingest-server.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

let env: TestResources;
let dynamoProxy: Awaited<ReturnType<typeof startFaultProxy>>;
let sqsProxy: Awaited<ReturnType<typeof startFaultProxy>>;
let ingest: Awaited<ReturnType<typeof startIngest>>;

beforeAll(async () => {
  env = await createTestResources();
  dynamoProxy = await startFaultProxy(env.dynamodbEndpoint);
  sqsProxy = await startFaultProxy(env.sqsEndpoint);
  const deps = createAwsDeps({
    ...env.config,
    DYNAMODB_ENDPOINT: dynamoProxy.url,
    SQS_ENDPOINT: sqsProxy.url,
  });
  ingest = await startIngest(deps, { deadlineMs: 1_500 });
});
afterAll(async () => {
  await ingest.stop();
  await Promise.all([dynamoProxy.stop(), sqsProxy.stop()]);
  env.destroy();
});

const punch = (sn: string, userId: string) =>
  publishBody(
    `api/mqtt/v1/${sn}/evt`,
    JSON.stringify({ user_id: userId, att_time: "2026-11-22 08:00:00", att_state: 0 }),
  );

describe("outages", () => {
  it("answers 503 while DynamoDB refuses connections, then stores the retried punch once", async () => {
    const body = punch("SN-C1", "1");
    dynamoProxy.set("refuse");
    const during = await ingest.post(body);
    expect(during.status).toBe(503);
    expect(during.headers.get("retry-after")).toBe("5");
    dynamoProxy.set("up");
    const after = await ingest.post(body);
    expect(after.status).toBe(200);
    expect(await userReads(env).attendance("SN-C1")).toHaveLength(1);
    expect((await env.drainEvents()).filter((e) => e.sn === "SN-C1")).toHaveLength(1);
  });

  it("answers 503 when SQS is down after the punch was stored, takes the write back, and fans it out once on retry", async () => {
    const body = punch("SN-C2", "2");
    sqsProxy.set("refuse");
    expect((await ingest.post(body)).status).toBe(503);
    // Stored and sent go together: a punch EMQX gives up on is neither.
    expect(await userReads(env).attendance("SN-C2")).toHaveLength(0);
    sqsProxy.set("up");
    const retry = await ingest.post(body);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ stored: 1, duplicates: 0 });
    expect(await userReads(env).attendance("SN-C2")).toHaveLength(1);
    expect((await env.drainEvents()).filter((e) => e.sn === "SN-C2")).toHaveLength(1);
    expect((await ingest.post(body)).body).toMatchObject({ duplicates: 1 });
    expect(await env.drainEvents()).toHaveLength(0);
  });

  it("answers 503 at its own deadline when DynamoDB hangs", async () => {
    dynamoProxy.set("hang");
    const answer = await ingest.post(punch("SN-C3", "3"));
    dynamoProxy.set("up");
    expect(answer.status).toBe(503);
    // The ingest's deadline answered, not the SDK's attempt timeouts (three of 2.5 s would be later).
    expect(answer.body.detail).toMatch(/within the 1500 ms internal deadline/);
  });

  it("answers 503, not 4xx, for bad input it cannot quarantine because DynamoDB is down", async () => {
    dynamoProxy.set("refuse");
    const answer = await ingest.post(publishBody("api/mqtt/v1/SN-C4/evt", "not json"));
    dynamoProxy.set("up");
    expect(answer.status).toBe(503);
  });

  it("answers 503 while DynamoDB throttles", async () => {
    const deps = createAwsDeps(env.config);
    const client = (
      deps.attendance as unknown as { client: import("@aws-sdk/client-dynamodb").DynamoDBClient }
    ).client;
    // Throttling cannot be produced on DynamoDB Local, so it is injected at the SDK boundary.
    client.middlewareStack.add(
      () => async () => {
        throw new ProvisionedThroughputExceededException({ message: "Rate exceeded", $metadata: {} });
      },
      { step: "initialize", name: "throttle" },
    );
    const throttled = await startIngest(deps);
    try {
      const answer = await throttled.post(punch("SN-C5", "5"));
      expect(answer.status).toBe(503);
      expect(String(answer.body.detail)).toContain("ProvisionedThroughputExceeded");
    } finally {
      await throttled.stop();
    }
  });
});
