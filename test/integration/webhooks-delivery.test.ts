import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import { newWebhookSecret, verifyWebhook } from "../../functions/core/webhooks/signature.ts";
import { type ReceivedWebhook, startWebhookReceiver } from "../../local/simulator/webhook-receiver.ts";
import { eventually } from "../support/local-stack.ts";
import { startWebhookFixture, type WebhookFixture } from "../support/webhooks-fixture.ts";

let fixture: WebhookFixture;
const receivers: Array<{ stop(): Promise<void> }> = [];
let sequence = 0;

beforeAll(async () => {
  fixture = await startWebhookFixture();
});
afterAll(async () => {
  for (const receiver of receivers) await receiver.stop();
  await fixture?.stop();
});

function event(type: FanoutMessage["type"], sn: string, data: Record<string, unknown> = {}): FanoutMessage {
  sequence++;
  return { type, eventId: `ev-${Date.now()}-${sequence}`, sn, at: new Date().toISOString(), data };
}

/** A receiver on loopback, subscribed through the API; its secret is the one the API answered once. */
async function subscribed(request: { types: string[]; sn?: string }, status?: () => number) {
  const receiver = await startWebhookReceiver(status ? { status } : {});
  receivers.push(receiver);
  const created = await fixture.call("POST", "/v1/webhooks", { url: receiver.url, ...request });
  expect(created.status).toBe(201);
  receiver.useSecret(created.body.secret);
  return { ...receiver, id: created.body.webhook.id as string, secret: created.body.secret as string };
}

type Verify = (secret: string, headers: Record<string, string | undefined>, rawBody: string) => boolean;

/** The `verify` of README "Webhooks", run as written. */
async function readmeVerify(): Promise<Verify> {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  const code = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf("## Webhooks")))?.[1] ?? "";
  const file = join(tmpdir(), `readme-verify-${process.pid}.mjs`);
  await writeFile(file, code);
  return ((await import(pathToFileURL(file).href)) as { verify: Verify }).verify;
}

const ids = (received: ReceivedWebhook[]) => received.map((w) => w.headers["webhook-id"]);
const arrived = (received: ReceivedWebhook[], count: number) =>
  eventually(async () => (received.length >= count ? received : undefined), 15_000);

describe("webhook delivery: webhooks queue → sender → signed POST", () => {
  it("POSTs the queue's body byte for byte, signed with the subscription's secret", async () => {
    const receiver = await subscribed({ types: ["attendance"] });
    const punch = event("attendance", "WH-1", { user_id: "1001", name: "Zoë 🙂" });
    const sentAt = Date.now();
    const body = await fixture.publish(punch);
    const [delivered] = await arrived(receiver.received, 1);
    console.info(
      `webhook delivery latency (queue send → receiver): ${(delivered?.receivedAt ?? 0) - sentAt} ms`,
    );
    expect(delivered?.body).toBe(body);
    expect(JSON.parse(delivered?.body ?? "")).toEqual(punch);
    expect(delivered?.verified).toBe(true);
    expect(delivered?.headers["webhook-id"]).toBe(punch.eventId);
    expect(delivered?.headers["content-type"]).toBe("application/json");
    expect(Math.abs(Number(delivered?.headers["webhook-timestamp"]) - sentAt / 1000)).toBeLessThan(60);
    const verify = await readmeVerify();
    expect(verify(receiver.secret, delivered?.headers ?? {}, body)).toBe(true);
    expect(verify(receiver.secret, delivered?.headers ?? {}, body.replace("1001", "1002"))).toBe(false);
  });

  it("lets the receiver detect a forged signature, a changed body, another secret and a replay", async () => {
    const receiver = await subscribed({ types: ["presence"] });
    await fixture.publish(event("presence", "WH-2", { online: true }));
    const [delivered] = await arrived(receiver.received, 1);
    const { headers, body } = delivered as ReceivedWebhook;
    expect(verifyWebhook(receiver.secret, headers, body).ok).toBe(true);
    const forged = { ...headers, "webhook-signature": `v1,${Buffer.alloc(32, 7).toString("base64")}` };
    expect(verifyWebhook(receiver.secret, forged, body)).toEqual({
      ok: false,
      reason: "no matching signature",
    });
    expect(verifyWebhook(receiver.secret, headers, body.replace("true", "false")).ok).toBe(false);
    expect(verifyWebhook(newWebhookSecret(), headers, body).ok).toBe(false);
    const otherId = { ...headers, "webhook-id": "ev-someone-else" };
    expect(verifyWebhook(receiver.secret, otherId, body).ok).toBe(false);
    const sixMinutesLater = Number(headers["webhook-timestamp"]) + 360;
    expect(verifyWebhook(receiver.secret, headers, body, { nowSeconds: sixMinutesLater })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/tolerance/),
    });
    // The receiver itself answers a forged request 401 and records why.
    const response = await fetch(receiver.url, {
      method: "POST",
      headers: forged as Record<string, string>,
      body,
    });
    expect(response.status).toBe(401);
    expect(receiver.received.at(-1)?.verified).toBe(false);
  });

  it("delivers only the types and the device a subscription asked for", async () => {
    const punches = await subscribed({ types: ["attendance"] });
    const oneDevice = await subscribed({ types: ["presence", "command_status"], sn: "WH-F1" });
    const events = [
      event("presence", "WH-F1"),
      event("attendance", "WH-F2"),
      event("presence", "WH-F2"),
      event("command_status", "WH-F1"),
      event("attendance", "WH-F1"),
    ];
    for (const e of events) await fixture.publish(e);
    // One message group: when each receiver has its last wanted event, every earlier event was handled.
    await arrived(punches.received, 2);
    await arrived(oneDevice.received, 2);
    const byId = (indexes: number[]) => indexes.map((i) => events[i]?.eventId);
    expect(ids(punches.received)).toEqual(byId([1, 4]));
    expect(ids(oneDevice.received)).toEqual(byId([0, 3]));
  });

  it("retries a receiver answering 500, dead-letters the event, marks the subscription failing; others unaffected", async () => {
    let status = 500;
    const failing = await subscribed({ types: ["command_status"], sn: "WH-R1" }, () => status);
    const healthy = await subscribed({ types: ["command_status"], sn: "WH-R1" });
    const first = event("command_status", "WH-R1", { id: "c1", status: "acked" });
    const body = await fixture.publish(first);
    const letters = await eventually(async () => {
      const answer = await fixture.call("GET", `/v1/webhooks/${failing.id}/dead-letters`);
      return answer.body.items?.length ? answer.body.items : undefined;
    }, 20_000);
    expect(letters).toEqual([
      expect.objectContaining({ eventId: first.eventId, body, attempts: 4, lastError: "HTTP 500" }),
    ]);
    // 1 attempt + 3 retries, each signed again with its own timestamp, all under the event's id.
    expect(ids(failing.received)).toEqual(Array(4).fill(first.eventId));
    expect(failing.received.every((w) => w.verified && w.body === body)).toBe(true);
    const gaps = failing.received
      .slice(1)
      .map((w, i) => w.receivedAt - (failing.received[i]?.receivedAt ?? 0));
    console.info(`webhook retries observed: 4 attempts, gaps ${gaps.join(", ")} ms (delays 0, 1, 1 s)`);
    expect(ids(healthy.received)).toEqual([first.eventId]);

    const shown = await fixture.call("GET", `/v1/webhooks/${failing.id}`);
    expect(shown.body.webhook).toMatchObject({
      status: "failing",
      failedAttempts: 4,
      deadLettered: 1,
      delivered: 0,
      lastError: "HTTP 500",
    });
    expect(shown.body.webhook.secret).toBeUndefined();
    const list = await fixture.call("GET", "/v1/webhooks");
    const statuses = Object.fromEntries(
      list.body.items.map((w: { id: string; status: string }) => [w.id, w.status]),
    );
    expect(statuses).toMatchObject({ [failing.id]: "failing", [healthy.id]: "active" });

    // The receiver is back: the next event reaches it and the subscription is active again.
    status = 200;
    const second = event("command_status", "WH-R1", { id: "c2", status: "acked" });
    await fixture.publish(second);
    await eventually(async () =>
      failing.received.at(-1)?.headers["webhook-id"] === second.eventId ? true : undefined,
    );
    const recovered = await eventually(async () => {
      const answer = await fixture.call("GET", `/v1/webhooks/${failing.id}`);
      return answer.body.webhook.status === "active" ? answer.body.webhook : undefined;
    });
    expect(recovered).toMatchObject({ delivered: 1, consecutiveFailures: 0, deadLettered: 1 });
  });

  it("stops delivering to a deleted subscription", async () => {
    const gone = await subscribed({ types: ["attendance"], sn: "WH-D1" });
    const marker = await subscribed({ types: ["attendance"], sn: "WH-D1" });
    expect((await fixture.call("DELETE", `/v1/webhooks/${gone.id}`)).status).toBe(200);
    await fixture.publish(event("attendance", "WH-D1"));
    await arrived(marker.received, 1);
    expect(gone.received).toEqual([]);
    expect((await fixture.call("GET", `/v1/webhooks/${gone.id}`)).status).toBe(404);
  });
});
