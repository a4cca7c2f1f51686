import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newWebhookSecret } from "../../functions/core/webhooks/signature.ts";
import { startWebhookFixture, type WebhookFixture } from "../support/webhooks-fixture.ts";

let fixture: WebhookFixture;

beforeAll(async () => {
  fixture = await startWebhookFixture();
});
afterAll(async () => {
  await fixture?.stop();
});

const valid = { url: "https://receiver.example.com/hooks?team=7", types: ["attendance", "presence"] };

describe("/v1/webhooks", () => {
  it("creates a subscription: 201, Location, the secret once; reads never show it", async () => {
    const created = await fixture.call("POST", "/v1/webhooks", { ...valid, sn: "SN-1" });
    expect(created.status).toBe(201);
    const { webhook, secret } = created.body;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.headers.get("location")).toBe(`/v1/webhooks/${webhook.id}`);
    expect(webhook).toMatchObject({ ...valid, sn: "SN-1", status: "active", delivered: 0, deadLettered: 0 });
    expect(webhook.secret).toBeUndefined();
    const read = await fixture.call("GET", `/v1/webhooks/${webhook.id}`);
    expect(read.body).toEqual({ webhook });
    const list = await fixture.call("GET", "/v1/webhooks");
    expect(list.body.items).toContainEqual(webhook);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    // Kept to sign with: the stored one is the one handed out.
    expect((await fixture.store.get(webhook.id))?.secret).toBe(secret);
  });

  it("takes a secret the caller gives", async () => {
    const secret = newWebhookSecret();
    const created = await fixture.call("POST", "/v1/webhooks", { ...valid, secret });
    expect(created.body.secret).toBe(secret);
  });

  it.each([
    [{ ...valid, url: "ftp://example.com/x" }, "url", /http:\/\/ or https:\/\//],
    [{ ...valid, url: "file:///etc/passwd" }, "url", /http:\/\/ or https:\/\//],
    [{ ...valid, url: "not a url" }, "url", /absolute URL/],
    [{ ...valid, url: "https://user:pw@example.com/" }, "url", /user or password/],
    [{ ...valid, url: "http://169.254.169.254/latest" }, "url", /link-local/],
    [{ ...valid, types: [] }, "types", /at least one/],
    [{ ...valid, types: ["attendance", "attendance"] }, "types", /repeat/],
    [{ ...valid, types: ["everything"] }, "types.0", /types must hold only attendance, presence/],
    [{ ...valid, sn: "a/b" }, "sn", /sn must be/],
    [{ ...valid, secret: "hunter2" }, "secret", /whsec_/],
    [{ ...valid, secret: "whsec_c2hvcnQ=" }, "secret", /24 to 64/],
    [{ ...valid, extra: 1 }, "extra", /unknown field/],
    [{ types: ["attendance"] }, "url", /required/],
  ])("refuses %j with a 422 naming the field", async (body, field, detail) => {
    const answer = await fixture.call("POST", "/v1/webhooks", body);
    expect(answer.status).toBe(422);
    expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ field, detail: expect.stringMatching(detail) });
  });

  it("is for admin keys only: a read key gets 403 on every route, no key 401", async () => {
    const id = `wh_${"0".repeat(32)}`;
    for (const [method, path] of [
      ["POST", "/v1/webhooks"],
      ["GET", "/v1/webhooks"],
      ["GET", `/v1/webhooks/${id}`],
      ["DELETE", `/v1/webhooks/${id}`],
      ["GET", `/v1/webhooks/${id}/dead-letters`],
    ] as const) {
      const answer = await fixture.call(
        method,
        path,
        method === "POST" ? valid : undefined,
        fixture.keys.reader,
      );
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect((await fixture.call(method, path, undefined, "nope")).status).toBe(401);
    }
  });

  it("answers 404 for an unknown subscription and 400 for a malformed id; DELETE is answered once", async () => {
    const missing = `wh_${"f".repeat(32)}`;
    expect((await fixture.call("GET", `/v1/webhooks/${missing}`)).status).toBe(404);
    expect((await fixture.call("GET", `/v1/webhooks/${missing}/dead-letters`)).status).toBe(404);
    const malformed = await fixture.call("GET", "/v1/webhooks/nope");
    expect(malformed).toMatchObject({ status: 400, body: { field: "id" } });
    const { webhook } = (await fixture.call("POST", "/v1/webhooks", valid)).body;
    const deleted = await fixture.call("DELETE", `/v1/webhooks/${webhook.id}`);
    expect(deleted).toMatchObject({ status: 200, body: { webhook: { id: webhook.id } } });
    expect((await fixture.call("DELETE", `/v1/webhooks/${webhook.id}`)).status).toBe(404);
    // Its secret is gone from the table at once; the rest of the item expires (no DeleteItem in any role).
    const stored = (await fixture.env.partition("WEBHOOKS")).find((item) => item.sk === webhook.id);
    expect(stored).toMatchObject({ deletedAt: expect.any(Number) });
    expect(stored?.secret).toBeUndefined();
  });
});
