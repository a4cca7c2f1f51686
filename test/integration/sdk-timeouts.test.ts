import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import { createDynamoDbClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoDbReaders } from "../../functions/adapters/dynamodb/readers.ts";
import { type ApiAnswer, startApi } from "../support/api-server.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { expectProblem } from "../support/ops-fixtures.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { startUnacceptingListener } from "../support/unaccepting-listener.ts";

/**
 * The SDK's per-attempt timeouts against endpoints that never answer. The API's own deadline is set far
 * out of reach, so only the SDK can end these requests: before `throwOnRequestTimeout` an attempt waited
 * for the 300 s default socket timeout and each of these tests ran into its own time limit. No stopwatch:
 * an answer at all (within the test's 60 s; three attempts at the default 2.5 s plus backoff take about
 * 8 s) whose detail names the SDK's timeout is the proof that the timeout ended the attempts.
 */
const FAR_DEADLINE_MS = 600_000;

let env: TestResources;
let dynamoProxy: Awaited<ReturnType<typeof startFaultProxy>>;
let sqsProxy: Awaited<ReturnType<typeof startFaultProxy>>;

beforeAll(async () => {
  env = await createTestResources();
  dynamoProxy = await startFaultProxy(env.dynamodbEndpoint);
  sqsProxy = await startFaultProxy(env.sqsEndpoint);
});
afterAll(async () => {
  await dynamoProxy?.stop();
  await sqsProxy?.stop();
  env?.destroy();
});

/** The API on the production clients (default timeouts), with its endpoints behind the proxies. */
async function apiBehindProxies(endpoints: { dynamodb?: string; sqs?: string } = {}) {
  const config = {
    ...env.config,
    DYNAMODB_ENDPOINT: endpoints.dynamodb ?? dynamoProxy.url,
    SQS_ENDPOINT: endpoints.sqs ?? sqsProxy.url,
  };
  const deps = createAwsDeps(config);
  const dynamodb = createDynamoDbClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT });
  return startApi(
    { ...deps, reader: new DynamoDbReaders(dynamodb, config.TABLE_NAME) },
    {
      deadlineMs: FAR_DEADLINE_MS,
    },
  );
}

/** An outage answer: 503 with Retry-After, whose detail says which timeout ended the attempts. */
function expectTimeoutOutage(answer: ApiAnswer, cause: RegExp) {
  expectProblem(answer, 503);
  expect(answer.headers.get("retry-after")).toBe("5");
  expect(answer.body.detail).toMatch(/TimeoutError/);
  expect(answer.body.detail).toMatch(cause);
}

describe("SDK timeouts against a black-holed endpoint", () => {
  it("ends a DynamoDB attempt that gets no answer at its request timeout: 503 with Retry-After", async () => {
    const api = await apiBehindProxies();
    dynamoProxy.set("hang");
    try {
      const write = await api.request("POST", "/v1/devices/SN-TO1/commands", { body: { op: "x" } });
      expectTimeoutOutage(write, /requestTimeout/);
    } finally {
      dynamoProxy.set("up");
      await api.stop();
    }
  }, 60_000);

  it("ends an SQS attempt that gets no answer at its request timeout: 503 with Retry-After", async () => {
    const api = await apiBehindProxies({ dynamodb: env.dynamodbEndpoint });
    sqsProxy.set("hang");
    try {
      const answer = await api.request("POST", "/v1/devices/SN-TO2/commands", {
        body: { id: "to-2", op: "x" },
      });
      expectTimeoutOutage(answer, /requestTimeout/);
    } finally {
      sqsProxy.set("up");
      await api.stop();
    }
    // The command was stored before the queue hung; the client's retry finishes it.
    const retried = await apiBehindProxies({ dynamodb: env.dynamodbEndpoint, sqs: env.sqsEndpoint });
    try {
      const again = await retried.request("POST", "/v1/devices/SN-TO2/commands", {
        body: { id: "to-2", op: "x" },
      });
      expect(again.status).toBe(202);
    } finally {
      await retried.stop();
    }
  }, 60_000);

  it("ends a connect that is never accepted at the connection timeout: 503 with Retry-After", async () => {
    const silent = await startUnacceptingListener();
    const api = await apiBehindProxies({ dynamodb: silent.url });
    try {
      const answer = await api.request("GET", "/v1/devices/SN-TO3");
      expectTimeoutOutage(answer, /did not establish a connection/);
    } finally {
      await api.stop();
      await silent.stop();
    }
  }, 60_000);
});
