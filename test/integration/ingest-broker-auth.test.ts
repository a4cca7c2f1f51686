import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import { DynamoDbApiKeyStore } from "../../functions/adapters/dynamodb/api-key-store.ts";
import { newApiKey } from "../../functions/core/api-keys.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { publishBody } from "../support/emqx-bodies.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { DEVICE_SECRET, deviceToken, startIngest, TOKEN } from "../support/ingest-server.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

let env: TestResources;
let ingest: Awaited<ReturnType<typeof startIngest>>;
let appKey: string;

beforeAll(async () => {
  env = await createTestResources();
  ingest = await startIngest(env.deps);
  const created = newApiKey("fleet-app", ["read"]);
  appKey = created.key;
  await new DynamoDbApiKeyStore(env.dynamodb, env.tableName).put(created.record);
});
afterAll(async () => {
  await ingest.stop();
  env.destroy();
});

/** What EMQX's HTTP authenticator posts: every value a string. */
async function login(clientid: string, username: string, password: string, token = TOKEN) {
  const response = await fetch(`${ingest.url}/emqx/authn`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ clientid, username, password, peerhost: "203.0.113.7" }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the answer is asserted field by field below
  const body = (await response.json()) as any;
  return { status: response.status, type: response.headers.get("content-type"), body };
}

describe("EMQX's HTTP authenticator on the ingest", () => {
  it("allows a device with its own token: JSON EMQX reads, literal topics, a bounded session", async () => {
    const answer = await login("SNA1", "SNA1", deviceToken("SNA1"));
    expect(answer.status).toBe(200);
    expect(answer.type).toContain("application/json");
    expect(answer.body).toMatchObject({ result: "allow", is_superuser: false, client_attrs: { sn: "SNA1" } });
    const now = Date.now() / 1000;
    expect(answer.body.expire_at).toBeGreaterThan(now + 60);
    expect(answer.body.expire_at).toBeLessThanOrEqual(now + 86_400 + 5);
    expect(JSON.stringify(answer.body.acl)).not.toContain("${");
    expect(answer.body.acl.at(-1)).toEqual({ permission: "deny", action: "all", topics: ["#"] });
  });

  it("denies, with a 200 EMQX cannot mistake for 'ignore', every login that is not exactly right", async () => {
    const cases: Array<[string, string, string]> = [
      ["SNA1-tool", "SNA1", deviceToken("SNA1")],
      ["SNA2", "SNA2", deviceToken("SNA1")],
      ["+", "+", deviceToken("+")],
      ["SN/1", "SN/1", deviceToken("SN/1")],
      ["SNé", "SNé", deviceToken("SNé")],
      ["S".repeat(1000), "S".repeat(1000), ""],
      ["SNA1", "SNA1", ""],
      ["SNA1", "SNA1", appKey],
      ["fleet-app", "fleet-app", deviceToken("fleet-app", "another-secret-of-at-least-32-characters")],
    ];
    for (const [clientid, username, password] of cases) {
      const answer = await login(clientid, username, password);
      expect(answer.status, clientid.slice(0, 20)).toBe(200);
      expect(answer.body, clientid.slice(0, 20)).toEqual({ result: "deny" });
    }
  });

  it("denies malformed or oversized requests rather than erroring", async () => {
    for (const body of [
      "{",
      "null",
      "[]",
      '{"clientid":1}',
      JSON.stringify({ clientid: "x".repeat(10_000) }),
    ]) {
      const response = await fetch(`${ingest.url}/emqx/authn`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body,
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ result: "deny" });
    }
  });

  it("answers only EMQX: without the ingest token it is a 401", async () => {
    expect((await login("SNA1", "SNA1", deviceToken("SNA1"), "not-the-token-0123456789")).status).toBe(401);
  });

  it("lets an app in with its key, on its own prefix and the feed", async () => {
    const answer = await login("fleet-app/ui", "fleet-app", appKey);
    expect(answer.body).toMatchObject({
      result: "allow",
      is_superuser: false,
      client_attrs: { app: "fleet-app" },
    });
    const topics = answer.body.acl.flatMap((rule: { topics: string[] }) => rule.topics);
    expect(topics).toEqual(["app/v1/fleet-app/requests", "app/v1/fleet-app/responses/#", "fleet/v1/#", "#"]);
  });

  it("denies when the registry cannot be read, instead of letting anyone in", async () => {
    const proxy = await startFaultProxy(env.dynamodbEndpoint);
    const down = await startIngest(createAwsDeps({ ...env.config, DYNAMODB_ENDPOINT: proxy.url }));
    try {
      proxy.set("refuse");
      const response = await fetch(`${down.url}/emqx/authn`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ clientid: "SNA9", username: "SNA9", password: deviceToken("SNA9") }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ result: "deny" });
    } finally {
      await down.stop();
      await proxy.stop();
    }
  });
});

describe("per-device identity on both transports", () => {
  it("a re-keyed device logs in with its new token only, over MQTT and over HTTP", async () => {
    await login("SNK1", "SNK1", deviceToken("SNK1"));
    const rotated = await env.deps.devices.rotate("SNK1", new Date().toISOString());
    const fresh = deriveDeviceToken(DEVICE_SECRET, "SNK1", rotated.generation);
    expect((await login("SNK1", "SNK1", deviceToken("SNK1"))).body).toEqual({ result: "deny" });
    expect((await login("SNK1", "SNK1", fresh)).body.result).toBe("allow");
    const punch = { user_id: "1", att_time: "2026-12-01 08:00:00", att_state: 0 };
    const restarted = await startIngest(env.deps);
    try {
      expect((await restarted.postDevice("SNK1", "evt", punch)).status).toBe(401);
      expect((await restarted.postDevice("SNK1", "evt", punch, fresh)).status).toBe(200);
    } finally {
      await restarted.stop();
    }
  });

  it("a disabled device is refused on both transports", async () => {
    await login("SNK2", "SNK2", deviceToken("SNK2"));
    await env.deps.devices.setEnabled("SNK2", false, new Date().toISOString());
    expect((await login("SNK2", "SNK2", deviceToken("SNK2"))).body).toEqual({ result: "deny" });
    const restarted = await startIngest(env.deps);
    try {
      const answer = await restarted.postDevice("SNK2", "evt", {
        user_id: "1",
        att_time: "2026-12-01 08:00:00",
        att_state: 0,
      });
      expect(answer.status).toBe(401);
    } finally {
      await restarted.stop();
    }
  });
});

describe("defence in depth in the rule-event ingest", () => {
  it("quarantines a punch one client published on another device's topic, and stores nothing", async () => {
    const forged = {
      ...publishBody(
        "api/mqtt/v1/SNODD1/evt",
        JSON.stringify({ user_id: "9", att_time: "2026-12-01 08:00:00", att_state: 0 }),
      ),
      clientid: "SNOTHER",
    };
    const answer = await ingest.post(forged);
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ field: "clientid" });
    const day = new Date().toISOString().slice(0, 10);
    const kept = (await userReads(env).quarantined(day)).find((r) => r.id === answer.body.quarantineId);
    expect(kept).toBeDefined();
    expect(await userReads(env).attendance("SNODD1")).toHaveLength(0);
  });

  it("still takes a device's own publish and its will", async () => {
    const own = publishBody("api/mqtt/v1/SNOWN1/st", JSON.stringify({ online: false }));
    expect((await ingest.post(own)).status).toBe(200);
  });
});
