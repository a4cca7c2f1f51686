import { describe, expect, it } from "vitest";
import { deliverEvent, deliverPending, type WebhookDeps } from "../../functions/core/webhooks/deliver.ts";
import type { PendingDelivery, PostOutcome } from "../../functions/core/webhooks/ports.ts";
import { signWebhook, verifyWebhook } from "../../functions/core/webhooks/signature.ts";
import type {
  DeadLetter,
  WebhookStore,
  WebhookSubscription,
} from "../../functions/core/webhooks/subscription.ts";

describe("webhook signature", () => {
  // The Standard Webhooks specification's own example: its libraries and ours agree.
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const request = { id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: '{"test": 2432232314}' };

  it("is the specification's signature for its example", () => {
    expect(signWebhook(secret, request)).toEqual({
      "webhook-id": request.id,
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("verifies within 5 minutes either way and refuses outside them, a missing header or a foreign signature", () => {
    const headers = signWebhook(secret, request);
    const at = (seconds: number) => ({ nowSeconds: request.timestamp + seconds });
    expect(verifyWebhook(secret, headers, request.body, at(300)).ok).toBe(true);
    expect(verifyWebhook(secret, headers, request.body, at(-300)).ok).toBe(true);
    expect(verifyWebhook(secret, headers, request.body, at(301)).ok).toBe(false);
    expect(verifyWebhook(secret, { ...headers, "webhook-id": undefined }, request.body, at(0)).ok).toBe(
      false,
    );
    // Several signatures (a rotation): one match is enough; a v2 entry is not read as v1.
    const rotated = { ...headers, "webhook-signature": `v1,bm9wZQ== v2,x ${headers["webhook-signature"]}` };
    expect(verifyWebhook(secret, rotated, request.body, at(0)).ok).toBe(true);
    const v2 = { ...headers, "webhook-signature": headers["webhook-signature"]?.replace("v1,", "v2,") };
    expect(verifyWebhook(secret, v2, request.body, at(0)).ok).toBe(false);
  });
});

/** Subscriptions in memory; just what the sender's logic reads and counts. */
function memoryStore(subscriptions: WebhookSubscription[]): WebhookStore & { letters: DeadLetter[] } {
  const byId = new Map(subscriptions.map((s) => [s.id, s]));
  const letters: DeadLetter[] = [];
  return {
    letters,
    create: async (s) => void byId.set(s.id, s),
    get: async (id) => byId.get(id),
    list: async () => [...byId.values()],
    delete: async (id) => byId.delete(id),
    recordSuccess: async (id, at) => {
      const s = byId.get(id);
      if (s) Object.assign(s, { delivered: s.delivered + 1, consecutiveFailures: 0, lastSuccessAt: at });
    },
    recordFailure: async (id, error, at) => {
      const s = byId.get(id);
      if (s)
        Object.assign(s, {
          failedAttempts: s.failedAttempts + 1,
          consecutiveFailures: s.consecutiveFailures + 1,
          lastError: error,
          lastErrorAt: at,
        });
    },
    deadLetter: async (letter) => void letters.push(letter),
    listDeadLetters: async () => letters,
  };
}

const subscription = (id: string, extra: Partial<WebhookSubscription> = {}): WebhookSubscription => ({
  id,
  url: `https://${id}.example/hooks`,
  types: ["attendance"],
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  createdAt: "2026-12-01T00:00:00.000Z",
  delivered: 0,
  failedAttempts: 0,
  deadLettered: 0,
  consecutiveFailures: 0,
  ...extra,
});

function harness(subscriptions: WebhookSubscription[], answer: (url: string) => PostOutcome) {
  const posts: Array<{ url: string; headers: Record<string, string> }> = [];
  const scheduled: Array<{ delivery: PendingDelivery; delay: number }> = [];
  const store = memoryStore(subscriptions);
  const deps: WebhookDeps = {
    store,
    poster: {
      post: async (url, _body, headers) => {
        posts.push({ url, headers });
        return answer(url);
      },
    },
    retries: { schedule: async (delivery, delay) => void scheduled.push({ delivery, delay }) },
    clock: { now: () => new Date("2026-12-01T10:00:00.000Z") },
    retryDelaysS: [5, 30],
  };
  return { deps, posts, scheduled, store };
}

const punch = { type: "attendance", sn: "SN-1", eventId: "ev-1" };
const failed: PostOutcome = { ok: false, error: "HTTP 500" };

describe("webhook delivery", () => {
  it("tries each healthy subscriber at once and schedules a retry for the one that failed, with the next delay", async () => {
    const { deps, posts, scheduled } = harness([subscription("a"), subscription("b")], (url) =>
      url.includes("b.") ? failed : { ok: true, status: 204 },
    );
    expect(await deliverEvent(deps, await deps.store.list(), { key: punch, body: "{}" }, new Map())).toEqual([
      "delivered",
      "retry_scheduled",
    ]);
    expect(posts.map((p) => p.headers["webhook-id"])).toEqual(["ev-1", "ev-1"]);
    expect(scheduled).toEqual([
      { delivery: expect.objectContaining({ subscriptionId: "b", attempt: 2, body: "{}" }), delay: 5 },
    ]);
  });

  it("dead-letters after the budget (attempts = delays + 1) and counts the failures", async () => {
    const { deps, scheduled, store } = harness([subscription("a")], () => failed);
    const pending = { subscriptionId: "a", eventId: "ev-1", body: "{}", firstAttemptAt: "t0" };
    expect(await deliverPending(deps, { ...pending, attempt: 2 })).toBe("retry_scheduled");
    expect(scheduled.at(-1)).toMatchObject({ delivery: { attempt: 3 }, delay: 30 });
    expect(await deliverPending(deps, { ...pending, attempt: 3 })).toBe("dead_lettered");
    expect(store.letters).toEqual([
      expect.objectContaining({ eventId: "ev-1", attempts: 3, lastError: "HTTP 500" }),
    ]);
    expect((await store.get("a"))?.consecutiveFailures).toBe(2);
  });

  it("sends a failing subscription's events to the delivery queue instead of trying it inline", async () => {
    const { deps, posts, scheduled } = harness(
      [subscription("down", { consecutiveFailures: 3 }), subscription("up")],
      () => ({ ok: true, status: 200 }),
    );
    expect(await deliverEvent(deps, await deps.store.list(), { key: punch, body: "{}" }, new Map())).toEqual([
      "retry_scheduled",
      "delivered",
    ]);
    expect(posts.map((p) => p.url)).toEqual(["https://up.example/hooks"]);
    expect(scheduled).toEqual([
      { delivery: expect.objectContaining({ subscriptionId: "down", attempt: 1 }), delay: 0 },
    ]);
  });

  it("filters by type and device, and drops a retry whose subscription is gone", async () => {
    const { deps, posts } = harness(
      [subscription("other-type", { types: ["presence"] }), subscription("other-sn", { sn: "SN-2" })],
      () => ({ ok: true, status: 200 }),
    );
    expect(await deliverEvent(deps, await deps.store.list(), { key: punch, body: "{}" }, new Map())).toEqual(
      [],
    );
    expect(posts).toEqual([]);
    const gone = { subscriptionId: "nope", eventId: "ev-1", body: "{}", attempt: 2, firstAttemptAt: "t0" };
    expect(await deliverPending(deps, gone)).toBe("subscription_gone");
  });
});
