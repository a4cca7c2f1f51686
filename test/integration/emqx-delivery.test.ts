import { createServer as createTlsLessServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  byEvent,
  Receiver,
  runCleanups,
  sleep,
  startHarness,
  tempRulesDir,
  until,
} from "../support/emqx-harness.ts";

afterEach(runCleanups);

/** A single buffer worker with a window of one: EMQX's way to keep strict order. */
const oneAtATime = () =>
  tempRulesDir(undefined, { resourceOpts: { worker_pool_size: 1, inflight_window: 1 } });

/** A URL where nothing listens (connection refused). */
async function closedPort(): Promise<Receiver> {
  const receiver = new Receiver();
  await receiver.start();
  await receiver.stop();
  return receiver;
}

describe("HTTP action retry table", () => {
  it("retries 503 (3 immediate tries, then one per resume interval) until it succeeds, holding back later messages", async () => {
    // One worker sending one request at a time: the head-of-line block is plain to see.
    const h = await startHarness({ rulesDir: oneAtATime() });
    const device = await h.connect("dev-8");
    await h.receiver.find(byEvent("client.connected"));
    let failures = 4;
    h.receiver.respond = () => (failures-- > 0 ? 503 : 200);
    await device.publishAsync("api/mqtt/v1/dev-8/evt", "a", { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-8/evt", "b", { qos: 1 });
    await until(() => h.receiver.bodies((b) => b.payload === "b").length === 1);
    await h.standIn.idle();

    const payloads = h.receiver.bodies((b) => b.event === "message.publish").map((b) => b.payload);
    // "b" waits behind the retrying "a": one client's messages stay in order.
    expect(payloads).toEqual(["a", "a", "a", "a", "a", "b"]);
    expect(new Set(h.receiver.bodies((b) => b.payload === "a").map((b) => b.id)).size).toBe(1);
    expect(h.standIn.metrics()).toMatchObject({
      success: 3,
      retried: 4,
      failed: 0,
      droppedExpired: 0,
      inflight: 0,
    });
    expect(h.logs.filter((line) => line.includes("HTTP 503"))).toHaveLength(4);
  });

  it("retries 429 as well", async () => {
    const h = await startHarness();
    h.receiver.respond = (body, index) => (body.event === "message.publish" && index < 3 ? 429 : 200);
    const device = await h.connect("dev-9");
    await device.publishAsync("api/mqtt/v1/dev-9/evt", "x", { qos: 1 });
    await until(() => h.receiver.bodies((b) => b.payload === "x").length >= 2);
    await h.standIn.idle();
    expect(h.standIn.metrics().retried).toBeGreaterThan(0);
    expect(h.standIn.metrics().failed).toBe(0);
  });

  it("does not retry 500 or 400", async () => {
    const h = await startHarness();
    h.receiver.respond = (body) => (body.payload === "five" ? 500 : body.payload === "four" ? 400 : 200);
    const device = await h.connect("dev-10");
    await device.publishAsync("api/mqtt/v1/dev-10/evt", "five", { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-10/evt", "four", { qos: 1 });
    await until(() => h.receiver.bodies((b) => b.payload === "four").length === 1);
    // Idle: every request reached its end (a retry waiting for its turn would keep it busy).
    await h.standIn.idle();

    expect(h.receiver.bodies((b) => b.payload === "five")).toHaveLength(1);
    expect(h.receiver.bodies((b) => b.payload === "four")).toHaveLength(1);
    expect(h.standIn.metrics()).toMatchObject({ failed: 2, retried: 0 });
    expect(h.logs.filter((line) => line.includes("not retried"))).toHaveLength(2);
  });

  it("drops a request once it is older than request_ttl", async () => {
    const h = await startHarness({ timing: { requestTtlMs: 300, resumeIntervalMs: 100 } });
    h.receiver.respond = (body) => (body.event === "message.publish" ? 503 : 200);
    const device = await h.connect("dev-11");
    await device.publishAsync("api/mqtt/v1/dev-11/evt", "late", { qos: 1 });
    // Expired while waiting for a retry (dropped.expired), or answered after the TTL (late_reply) when the
    // machine is slow: lost either way, as in EMQX.
    const lost = () => h.standIn.metrics().droppedExpired + h.standIn.metrics().lateReply;
    await until(() => lost() === 1);
    await h.standIn.idle();

    expect(h.receiver.bodies((b) => b.payload === "late").length).toBeGreaterThanOrEqual(3);
    expect(h.standIn.metrics()).toMatchObject({ success: 1, failed: 0, inflight: 0 });
    expect(lost()).toBe(1);
    expect(h.logs.some((line) => /dropped .*request_ttl|late reply/.test(line))).toBe(true);
  });

  it("treats connection refused as recoverable", async () => {
    const closed = await closedPort();
    const h = await startHarness({
      ingestUrl: closed.url,
      timing: { requestTtlMs: 200, resumeIntervalMs: 50 },
    });
    await h.connect("dev-12");
    await until(() => h.standIn.metrics().droppedExpired === 1);
    expect(h.standIn.metrics()).toMatchObject({ failed: 0, success: 0 });
    expect(h.standIn.metrics().retried).toBeGreaterThanOrEqual(2);
    expect(h.logs.some((line) => line.includes("ECONNREFUSED"))).toBe(true);
  });
});

describe("transport errors, as EMQX's HTTP connector sees them", () => {
  it("retries a connection reset in the middle of an answer: Erlang reports it as a closed connection", async () => {
    const h = await startHarness();
    let resets = 1;
    h.receiver.respond = (body) => (body.payload === "cut" && resets-- > 0 ? "reset" : 200);
    const device = await h.connect("dev-reset");
    await device.publishAsync("api/mqtt/v1/dev-reset/evt", "cut", { qos: 1 });
    await until(() => h.receiver.answered.some((b) => b.payload === "cut"));
    await h.standIn.idle();

    expect(h.receiver.bodies((b) => b.payload === "cut")).toHaveLength(2);
    expect(h.standIn.metrics()).toMatchObject({ failed: 0, retried: 1, inflight: 0 });
    expect(h.logs.some((line) => line.includes("(closed)") && line.includes("re-sent at once"))).toBe(true);
  });

  it("drops a request after 3 tries when the error is not econnrefused, timeout or closed (a TLS failure)", async () => {
    // Plain TCP where the connector expects TLS: the handshake fails on every connection.
    let connections = 0;
    const plain = createTlsLessServer((socket) => {
      connections++;
      socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    });
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const port = (plain.address() as { port: number }).port;
    try {
      const h = await startHarness({ ingestUrl: `https://127.0.0.1:${port}` });
      await h.connect("dev-tls");
      await until(() => h.standIn.metrics().failed === 1);
      await h.standIn.idle();

      expect(connections).toBe(3);
      expect(h.standIn.metrics()).toMatchObject({ failed: 1, retried: 2, success: 0, droppedExpired: 0 });
      expect(h.logs.some((line) => line.includes("not econnrefused, timeout or closed"))).toBe(true);
    } finally {
      plain.close();
    }
  });
});

describe("buffer workers", () => {
  it("inflight_window > 1 (EMQX's default 100): a later request is answered before an earlier one", async () => {
    const h = await startHarness();
    h.receiver.respond = async (body) => {
      if (body.payload === "first") await until(() => h.receiver.bodies((b) => b.payload === "second")[0]);
      return 200;
    };
    const device = await h.connect("dev-over");
    await device.publishAsync("api/mqtt/v1/dev-over/evt", "first", { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-over/evt", "second", { qos: 1 });
    await until(() => h.receiver.answered.length === 3);

    const order = (list: Record<string, unknown>[]) => list.map((b) => b.payload).filter(Boolean);
    expect(order(h.receiver.requests.map((r) => r.body))).toEqual(["first", "second"]);
    expect(order(h.receiver.answered)).toEqual(["second", "first"]);
  });

  it("inflight_window 1: the next request of a worker waits for the answer to the previous one", async () => {
    const h = await startHarness({ rulesDir: oneAtATime() });
    h.receiver.respond = async (body) => {
      // Held until "second" arrives, which it cannot while "first" is unanswered; the timer ends the wait.
      if (body.payload === "first") {
        await Promise.race([sleep(300), until(() => h.receiver.bodies((b) => b.payload === "second")[0])]);
      }
      return 200;
    };
    const device = await h.connect("dev-one");
    await device.publishAsync("api/mqtt/v1/dev-one/evt", "first", { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-one/evt", "second", { qos: 1 });
    await until(() => h.receiver.answered.length === 3);

    expect(h.receiver.answered.map((b) => b.payload).filter(Boolean)).toEqual(["first", "second"]);
  });

  it("a blocked worker holds back every client hashed to it, not only the one that failed", async () => {
    const h = await startHarness({
      rulesDir: tempRulesDir(undefined, { resourceOpts: { worker_pool_size: 1 } }),
    });
    const attemptsOf = (payload: string) => h.receiver.bodies((b) => b.payload === payload).length;
    h.receiver.respond = (body) => (body.payload === "stuck" && attemptsOf("stuck") < 6 ? 503 : 200);
    const stuck = await h.connect("dev-stuck");
    await stuck.publishAsync("api/mqtt/v1/dev-stuck/evt", "stuck", { qos: 1 });
    // The 4th attempt is the blocked worker's first retry: from here on it sends nothing else.
    await until(() => attemptsOf("stuck") >= 4);
    const other = await h.connect("dev-other");
    await other.publishAsync("api/mqtt/v1/dev-other/evt", "other", { qos: 1 });
    await until(() => h.receiver.answered.some((b) => b.payload === "other"));

    const answered = h.receiver.answered.map((b) => b.payload ?? `${b.event} ${b.clientid}`);
    // Every answer is recorded, the five 503s too: the last "stuck" is its success.
    const afterStuck = answered.slice(answered.lastIndexOf("stuck") + 1);
    expect(afterStuck).toEqual(["client.connected dev-other", "other"]);
  });

  it("other workers keep sending while one is blocked", async () => {
    const h = await startHarness();
    let released = false;
    h.receiver.respond = (body) => (body.payload === "stuck" && !released ? 503 : 200);
    const stuck = await h.connect("dev-stuck2");
    await stuck.publishAsync("api/mqtt/v1/dev-stuck2/evt", "stuck", { qos: 1 });
    await until(() => h.receiver.bodies((b) => b.payload === "stuck").length >= 4);
    // 20 connections are 20 processes, spread over the 16 workers; some land elsewhere and get through.
    for (let i = 0; i < 20; i++) await h.connect(`dev-free-${i}`);
    await until(() => h.receiver.answered.some((b) => String(b.clientid).startsWith("dev-free-")));
    released = true;
    await until(() => h.receiver.answered.some((b) => b.payload === "stuck"));
    await h.standIn.idle();

    const connected = h.receiver.bodies(byEvent("client.connected")).map((b) => b.clientid);
    expect(connected.filter((id) => String(id).startsWith("dev-free-"))).toHaveLength(20);
    expect(h.standIn.metrics()).toMatchObject({ failed: 0, droppedExpired: 0, inflight: 0 });
  });
});
