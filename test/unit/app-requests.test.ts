/**
 * The API over MQTT's core (functions/core/app-requests): reading a request, who sent it, and running each
 * request id once. In-memory ports with the same claim rule as the DynamoDB adapter's condition.
 */
import { describe, expect, it } from "vitest";
import type { ApiKey, Scope } from "../../functions/core/api-keys.ts";
import {
  type AnswerStore,
  type AppAnswer,
  type AppRequest,
  type AppRequestDeps,
  answerAppRequest,
  LEASE_MS,
  type RequestKey,
  type RouteAnswer,
  readAppRequest,
  type StoredRequest,
} from "../../functions/core/app-requests/index.ts";
import { TransientError } from "../../functions/core/errors.ts";

/** The DynamoDB adapter's rule: claim when absent, expired, or running past its lease. */
class MemoryAnswers implements AnswerStore {
  readonly items = new Map<string, StoredRequest & { expiresAt: number }>();
  refuseKeep = false;

  async claim(key: RequestKey, times: { now: number; leaseUntil: number; expiresAt: number }) {
    const stored = this.items.get(id(key));
    const free =
      !stored ||
      stored.expiresAt < times.now ||
      (stored.state === "running" && stored.leaseUntil < times.now);
    if (!free) return { claimed: false as const, stored };
    this.items.set(id(key), { state: "running", leaseUntil: times.leaseUntil, expiresAt: times.expiresAt });
    return { claimed: true as const };
  }

  async keep(key: RequestKey, answer: AppAnswer, expiresAt: number) {
    if (this.refuseKeep) return false;
    this.items.set(id(key), { state: "answered", answer: structuredClone(answer), expiresAt });
    return true;
  }

  async release(key: RequestKey) {
    const stored = this.items.get(id(key));
    if (stored?.state === "running") this.items.set(id(key), { ...stored, leaseUntil: 0 });
  }

  async find(key: RequestKey) {
    return this.items.get(id(key));
  }
}
const id = (key: RequestKey) => `${key.keyName}#${key.requestId}`;

const key = (name: string, scopes: Scope[], revokedAt?: string): ApiKey => ({
  name,
  hash: `hash-${name}-${scopes.join("-")}`,
  scopes,
  createdAt: "2026-01-01T00:00:00.000Z",
  ...(revokedAt ? { revokedAt } : {}),
});

interface Harness {
  deps: AppRequestDeps;
  answers: MemoryAnswers;
  published: Array<{ topic: string; payload: Record<string, unknown> }>;
  runs: Array<{ key: ApiKey; request: AppRequest }>;
  now: { ms: number };
}

function harness(
  keys: ApiKey[] = [key("ops", ["read", "commands"])],
  route: (key: ApiKey, request: AppRequest) => Promise<RouteAnswer> = async () => ok,
): Harness {
  const published: Harness["published"] = [];
  const runs: Harness["runs"] = [];
  const now = { ms: 1_000_000 };
  const answers = new MemoryAnswers();
  const deps: AppRequestDeps = {
    keys: { activeByName: async (name) => keys.filter((k) => k.name === name && !k.revokedAt) },
    answers,
    publisher: {
      async publish(topic, payload) {
        published.push({ topic, payload: JSON.parse(payload) });
        return "published";
      },
    },
    clock: { now: () => new Date(now.ms) },
    route: async (k, request) => {
      runs.push({ key: k, request });
      return route(k, request);
    },
    refused: (refusal) => ({ status: refusal.kind === "unauthorized" ? 401 : 400, body: refusal }),
    pause: async () => undefined,
  };
  return { deps, answers, published, runs, now };
}

const ok: RouteAnswer = { answer: { status: 200, body: { items: [] } }, final: true };
const TOPIC = "app/v1/ops/requests";
const message = (payload: unknown, fields: Partial<{ topic: string; username: string }> = {}) => ({
  topic: fields.topic ?? TOPIC,
  username: fields.username ?? "ops",
  payload: typeof payload === "string" ? payload : JSON.stringify(payload),
});
const getDevices = { requestId: "r1", method: "GET", path: "/v1/devices" };

describe("readAppRequest", () => {
  it("reads a request with its query and body", () => {
    const read = readAppRequest(
      JSON.stringify({
        requestId: "a-1",
        method: "POST",
        path: "/v1/x",
        query: { limit: "2" },
        body: { op: "x" },
      }),
    );
    expect(read).toEqual({
      ok: true,
      request: { requestId: "a-1", method: "POST", path: "/v1/x", query: { limit: "2" }, body: { op: "x" } },
    });
  });

  it("refuses text that is not JSON, with no request id to answer under", () => {
    expect(readAppRequest("{nope")).toEqual({
      ok: false,
      refusal: { kind: "invalid_request", detail: "payload is not valid JSON", field: "payload" },
    });
  });

  it("keeps a readable request id when another field is wrong, naming that field", () => {
    const read = readAppRequest(
      JSON.stringify({ requestId: "a-2", method: "GET", path: "/emqx/app-requests" }),
    );
    expect(read).toMatchObject({ ok: false, requestId: "a-2", refusal: { field: "path" } });
  });

  it("refuses ids that are not one topic level, unknown fields, a query in the path", () => {
    const cases = [
      { requestId: "a/b", method: "GET", path: "/v1/devices" },
      { requestId: "+", method: "GET", path: "/v1/devices" },
      { requestId: "_unreadable", method: "GET", path: "/v1/devices" },
      { requestId: "r", method: "GET", path: "/v1/devices?limit=1" },
      { requestId: "r", method: "GET", path: "/v1/devices", qurey: {} },
      [1, 2],
    ];
    for (const request of cases)
      expect(readAppRequest(JSON.stringify(request)).ok, JSON.stringify(request)).toBe(false);
  });
});

describe("answerAppRequest", () => {
  it("runs the route with the key and publishes {requestId, status, body} on the response topic", async () => {
    const h = harness();
    expect(await answerAppRequest(h.deps, message(getDevices))).toBe("answered");
    expect(h.runs).toHaveLength(1);
    expect(h.runs[0]?.key).toMatchObject({ name: "ops", scopes: ["read", "commands"] });
    expect(h.published).toEqual([
      { topic: "app/v1/ops/responses/r1", payload: { requestId: "r1", status: 200, body: { items: [] } } },
    ]);
  });

  it("answers a repeated request id from the store, without running the route again", async () => {
    const h = harness();
    await answerAppRequest(h.deps, message(getDevices));
    h.now.ms += 9 * 60_000;
    expect(await answerAppRequest(h.deps, message(getDevices))).toBe("replayed");
    expect(h.runs).toHaveLength(1);
    expect(h.published[1]).toEqual(h.published[0]);
  });

  it("runs the same request id again once its window is over", async () => {
    const h = harness();
    await answerAppRequest(h.deps, message(getDevices));
    h.now.ms += 11 * 60_000;
    expect(await answerAppRequest(h.deps, message(getDevices))).toBe("answered");
    expect(h.runs).toHaveLength(2);
  });

  it("runs an in-flight duplicate's route once; the duplicate publishes the first one's answer", async () => {
    let finish: (answer: RouteAnswer) => void = () => undefined;
    const h = harness(undefined, () => new Promise((resolve) => (finish = resolve)));
    const first = answerAppRequest(h.deps, message(getDevices));
    await new Promise((resolve) => setImmediate(resolve));
    // The duplicate polls while the first runs: finish the first on the duplicate's first pause.
    h.deps.pause = async () => finish({ answer: { status: 202, body: { n: 1 } }, final: true });
    const duplicate = await answerAppRequest(h.deps, message(getDevices));
    expect([await first, duplicate]).toEqual(["answered", "replayed"]);
    expect(h.runs).toHaveLength(1);
    expect(h.published.map((p) => p.payload)).toEqual([
      { requestId: "r1", status: 202, body: { n: 1 } },
      { requestId: "r1", status: 202, body: { n: 1 } },
    ]);
  });

  it("a duplicate of an attempt that never finishes gives up without running or publishing", async () => {
    const h = harness(undefined, () => new Promise(() => undefined));
    void answerAppRequest(h.deps, message(getDevices));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await answerAppRequest(h.deps, message(getDevices))).toBe("in_flight");
    expect(h.runs).toHaveLength(1);
    expect(h.published).toEqual([]);
  });

  it("takes over a request id whose attempt crashed, once the lease is over", async () => {
    const h = harness();
    await h.answers.claim(
      { keyName: "ops", requestId: "r1" },
      { now: 0, leaseUntil: h.now.ms, expiresAt: 1e12 },
    );
    h.now.ms += LEASE_MS;
    expect(await answerAppRequest(h.deps, message(getDevices))).toBe("answered");
    expect(h.runs).toHaveLength(1);
  });

  it("does not keep a 503: the same request id runs again", async () => {
    const h = harness(undefined, async () => ({ answer: { status: 503, body: {} }, final: false }));
    await answerAppRequest(h.deps, message(getDevices));
    await answerAppRequest(h.deps, message(getDevices));
    expect(h.runs).toHaveLength(2);
    expect(h.published.map((p) => p.payload.status)).toEqual([503, 503]);
  });

  it("publishes an answer the store cannot keep, and runs a repeat again", async () => {
    const h = harness();
    h.answers.refuseKeep = true;
    expect(await answerAppRequest(h.deps, message(getDevices))).toBe("answered_unkept");
    await answerAppRequest(h.deps, message(getDevices));
    expect(h.runs).toHaveLength(2);
    expect(h.published).toHaveLength(2);
  });

  it("when the broker cannot take the answer, throws; EMQX's retry publishes the kept answer", async () => {
    const h = harness();
    const publish = h.deps.publisher.publish;
    h.deps.publisher.publish = async () => {
      throw new TransientError("EMQX answered 503");
    };
    await expect(answerAppRequest(h.deps, message(getDevices))).rejects.toThrow(TransientError);
    h.deps.publisher.publish = publish;
    expect(await answerAppRequest(h.deps, message(getDevices))).toBe("replayed");
    expect(h.runs).toHaveLength(1);
    expect(h.published).toHaveLength(1);
  });
});

describe("who may ask", () => {
  it("a revoked or unknown key name: 401 on its response topic, nothing run", async () => {
    const h = harness([key("ops", ["admin"], "2026-01-02T00:00:00.000Z")]);
    expect(await answerAppRequest(h.deps, message(getDevices))).toBe("refused");
    expect(h.runs).toEqual([]);
    expect(h.published).toEqual([
      {
        topic: "app/v1/ops/responses/r1",
        payload: { requestId: "r1", status: 401, body: expect.objectContaining({ kind: "unauthorized" }) },
      },
    ]);
  });

  it("a publisher whose username is not the topic's key name is refused", async () => {
    const h = harness([key("ops", ["admin"]), key("other", ["admin"])]);
    expect(await answerAppRequest(h.deps, message(getDevices, { username: "other" }))).toBe("refused");
    expect(h.runs).toEqual([]);
    expect(h.published[0]?.payload.status).toBe(401);
  });

  it("keys sharing a name: only the scopes every one of them grants", async () => {
    const h = harness([key("ops", ["admin"]), key("ops", ["read"])]);
    await answerAppRequest(h.deps, message(getDevices));
    expect(h.runs[0]?.key.scopes).toEqual(["read"]);
  });

  it("malformed JSON is answered under responses/_unreadable", async () => {
    const h = harness();
    expect(await answerAppRequest(h.deps, message("{oops"))).toBe("refused");
    expect(h.published).toEqual([
      {
        topic: "app/v1/ops/responses/_unreadable",
        payload: { requestId: null, status: 400, body: expect.objectContaining({ field: "payload" }) },
      },
    ]);
  });

  it("ignores a topic that is not a request topic: there is nowhere to answer", async () => {
    const h = harness();
    expect(await answerAppRequest(h.deps, message(getDevices, { topic: "app/v1/ops/other" }))).toBe(
      "ignored",
    );
    expect(h.published).toEqual([]);
  });
});
