import { connect as connectTcp } from "node:net";
import mqttPacket from "mqtt-packet";
import { afterEach, describe, expect, it, vi } from "vitest";
import { jiffyFixBytes } from "../../local/emqx/jiffy-utf8.ts";
import {
  ACTION_PATH,
  addCleanup,
  byEvent,
  GUID,
  KEY,
  type Rule,
  rawConnect,
  runCleanups,
  startHarness,
  TOKEN,
  tempRulesDir,
  until,
} from "../support/emqx-harness.ts";

afterEach(runCleanups);

/** An MQTT 3.1.1 client at the packet level: it sends only what the test says (no automatic PUBCOMP). */
function rawClient(port: number) {
  const socket = connectTcp(port, "127.0.0.1");
  addCleanup(() => void socket.destroy());
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  parser.on("packet", (packet) => packets.push(packet));
  socket.on("data", (data) => parser.parse(data));
  return {
    send: (packet: mqttPacket.Packet) => socket.write(mqttPacket.generate(packet)),
    next: <T extends mqttPacket.Packet["cmd"]>(cmd: T) =>
      until(() => {
        const index = packets.findIndex((packet) => packet.cmd === cmd);
        return index < 0
          ? undefined
          : (packets.splice(index, 1)[0] as Extract<mqttPacket.Packet, { cmd: T }>);
      }),
  };
}

describe("message.publish", () => {
  it("posts a device's evt publish with EMQX's body shape, headers and a new id per PUBLISH", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-1");
    await device.publishAsync("api/mqtt/v1/dev-1/evt", '{"user_id":"1001"}', { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-1/evt", '{"user_id":"1001"}', { qos: 1 });
    await until(() => h.receiver.bodies(byEvent("message.publish")).length === 2);

    const [first, second] = h.receiver.bodies(byEvent("message.publish")) as [
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    expect(Object.keys(first).sort()).toEqual(
      [
        "id",
        "clientid",
        "username",
        "payload",
        "peerhost",
        "peername",
        "topic",
        "qos",
        "flags",
        "pub_props",
        "publish_received_at",
        "client_attrs",
        "event",
        "timestamp",
        "node",
        "metadata",
      ].sort(),
    );
    expect(first).toMatchObject({
      id: expect.stringMatching(GUID),
      clientid: "dev-1",
      username: "undefined",
      payload: '{"user_id":"1001"}',
      peerhost: "127.0.0.1",
      peername: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      topic: "api/mqtt/v1/dev-1/evt",
      qos: 1,
      flags: { retain: false, dup: false },
      pub_props: { "User-Property": {} },
      publish_received_at: expect.any(Number),
      client_attrs: {},
      event: "message.publish",
      timestamp: expect.any(Number),
      node: "emqx@127.0.0.1",
      metadata: { rule_id: "bridge_attendance" },
    });
    expect(second.id).toMatch(GUID);
    expect(second.id).not.toBe(first.id);

    const request = h.receiver.requests.find((r) => r.body.id === first.id);
    expect(request?.path).toBe(ACTION_PATH);
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["x-from"]).toBe("action");
  });

  it("turns non-UTF-8 payload bytes into U+FFFD, ignores topics no rule selects, and counts matches", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-2", { username: "alice" });
    await device.publishAsync("api/mqtt/v1/dev-2/ack", "not selected", { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-2/st", Buffer.from([0xff, 0x41]), { qos: 0 });
    const body = await h.receiver.find(byEvent("message.publish"));
    await h.standIn.idle();

    expect(body).toMatchObject({
      payload: "\uFFFDA",
      username: "alice",
      qos: 0,
      metadata: { rule_id: "bridge_status" },
    });
    expect(h.receiver.bodies(byEvent("message.publish"))).toHaveLength(1);
    expect(h.standIn.metrics()).toMatchObject({ matched: 2, success: 2, failed: 0, inflight: 0 });
  });
});

describe("payloads that are not UTF-8 (jiffy's force_utf8)", () => {
  it("gives one U+FFFD per bad byte run and rewrites U+FFFF in the body's other strings", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-u8", { username: "bob\uFFFF" });
    await device.publishAsync("api/mqtt/v1/dev-u8/st", Buffer.from([0xff, 0x80, 0x80, 0x41]), { qos: 1 });
    await device.publishAsync("api/mqtt/v1/dev-u8/st", "ok", { qos: 1 });
    await until(() => h.receiver.bodies(byEvent("message.publish")).length === 2);
    const [bad, good] = h.receiver.bodies(byEvent("message.publish"));

    // Node's decoder would give "\uFFFD\uFFFD\uFFFDA".
    expect(bad).toMatchObject({ payload: "\uFFFDA", username: "bob\uFFFD" });
    expect(good).toMatchObject({ payload: "ok", username: "bob\uFFFF" });
  });

  it("matches what jiffy 1.x printed for these bytes (run under Erlang, see docs/emqx.md §4.2)", () => {
    const cases: Array<[number[], string]> = [
      [[0xff, 0x80, 0x80, 0x41], "\uFFFDA"],
      [[0xc0, 0x80], "\u0000"],
      [[0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80], "\u{1F600}"],
      [[0xed, 0xa0, 0x80, 0x78], "\uFFFDx"],
      [[0xef, 0xbf, 0xbf, 0xff], "\uFFFD\uFFFD"],
      [[0xf7, 0xbf, 0xbf, 0xbf], "\uFFFD"],
      [[0xe2, 0x82], "\uFFFD"],
      [[0xe2, 0x82, 0x41], "\uFFFDA"],
      [[0xf8, 0x88, 0x80, 0x80, 0x80], "\uFFFD"],
      [[0xed, 0xb0, 0x80, 0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80], "\uFFFD\uFFFD\uFFFD"],
      [[0x6f, 0x6b, 0xc3], "ok\uFFFD"],
    ];
    for (const [bytes, expected] of cases) expect(jiffyFixBytes(Uint8Array.from(bytes))).toBe(expected);
  });
});

describe("MQTT 5 user properties in pub_props", () => {
  it("prints User-Property-Pairs [] for an empty set and leaves it out when there is none", async () => {
    const h = await startHarness();
    const publish = (payload: string, properties?: unknown) =>
      h.api("/publish", { topic: "api/mqtt/v1/dev-up/evt", payload, ...(properties ? { properties } : {}) });
    await publish("empty", { user_properties: {} });
    await publish("none");
    await publish("no-props", {});
    await until(() => h.receiver.bodies(byEvent("message.publish")).length === 3);
    const props = (payload: string) => h.receiver.bodies((b) => b.payload === payload)[0]?.pub_props;

    expect(props("empty")).toEqual({ "User-Property": {}, "User-Property-Pairs": [] });
    expect(props("none")).toEqual({ "User-Property": {} });
    expect(props("no-props")).toEqual({ "User-Property": {} });
  });
});

describe("client lifecycle events", () => {
  it("posts client.connected and client.disconnected with reason normal after DISCONNECT", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-3", { username: "dev-3", keepalive: 30 });
    const connected = await h.receiver.find(byEvent("client.connected", "dev-3"));
    await device.endAsync();
    const disconnected = await h.receiver.find(byEvent("client.disconnected", "dev-3"));

    expect(connected).toMatchObject({
      clientid: "dev-3",
      username: "dev-3",
      mountpoint: "undefined",
      peername: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      sockname: `127.0.0.1:${h.mqttPort}`,
      proto_name: "MQTT",
      proto_ver: 4,
      keepalive: 30,
      clean_start: true,
      expiry_interval: 0,
      is_bridge: false,
      conn_props: { "User-Property": {} },
      connected_at: expect.any(Number),
      client_attrs: {},
      event: "client.connected",
      node: "emqx@127.0.0.1",
      metadata: { rule_id: "bridge_lifecycle" },
    });
    expect(disconnected).toMatchObject({
      reason: "normal",
      clientid: "dev-3",
      username: "dev-3",
      proto_ver: 4,
      disconn_props: { "User-Property": {} },
      connected_at: connected.connected_at,
      disconnected_at: expect.any(Number),
      event: "client.disconnected",
      metadata: { rule_id: "bridge_lifecycle" },
    });
    expect(disconnected).not.toHaveProperty("keepalive");
  });

  it("reports tcp_closed when the socket dies, and publishes the will with peerhost undefined", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-4", {
      will: {
        topic: "api/mqtt/v1/dev-4/st",
        payload: Buffer.from('{"online":false}'),
        qos: 1,
        retain: false,
      },
    });
    await h.receiver.find(byEvent("client.connected", "dev-4"));
    device.stream.destroy();

    const disconnected = await h.receiver.find(byEvent("client.disconnected", "dev-4"));
    const will = await h.receiver.find(byEvent("message.publish", "dev-4"));
    expect(disconnected.reason).toBe("tcp_closed");
    expect(will).toMatchObject({
      id: expect.stringMatching(GUID),
      clientid: "dev-4",
      username: "undefined",
      payload: '{"online":false}',
      peerhost: "undefined",
      peername: "undefined",
      topic: "api/mqtt/v1/dev-4/st",
      qos: 1,
      metadata: { rule_id: "bridge_status" },
    });
  });

  it("reports keepalive_timeout when a client goes silent", async () => {
    const h = await startHarness();
    await rawConnect(h.mqttPort, "dev-5", 1);
    const disconnected = await h.receiver.find(byEvent("client.disconnected", "dev-5"));
    expect(disconnected).toMatchObject({ reason: "keepalive_timeout", proto_ver: 4 });
  });

  it("reports takenover (clean=false) and discarded (clean=true) for the replaced connection", async () => {
    const h = await startHarness();
    await h.connect("dev-6", { clean: false });
    const first = await h.receiver.find(byEvent("client.connected", "dev-6"));
    await laterThan(first.connected_at); // distinct connected_at values
    await h.connect("dev-6", { clean: false });
    const takenover = await h.receiver.find(
      (b) => byEvent("client.disconnected", "dev-6")(b) && b.reason === "takenover",
    );
    const second = (await until(() => h.receiver.bodies(byEvent("client.connected", "dev-6"))[1])) as Record<
      string,
      unknown
    >;
    await laterThan(second.connected_at);
    await h.connect("dev-6", { clean: true });
    const discarded = await h.receiver.find(
      (b) => byEvent("client.disconnected", "dev-6")(b) && b.reason === "discarded",
    );

    expect(takenover.connected_at).toBe(first.connected_at);
    expect(second.clean_start).toBe(false);
    expect(discarded.connected_at).toBe(second.connected_at);
    expect(second.connected_at).not.toBe(first.connected_at);
  });

  it("keeps the events of one client in order when inflight_window is 1", async () => {
    // With EMQX's default window of 100 a worker's requests may overtake each other (emqx-delivery.test.ts).
    const h = await startHarness({
      rulesDir: tempRulesDir(undefined, { resourceOpts: { inflight_window: 1 } }),
    });
    const device = await h.connect("dev-7");
    await device.publishAsync("api/mqtt/v1/dev-7/evt", "1", { qos: 1 });
    await device.endAsync();
    await h.receiver.find(byEvent("client.disconnected", "dev-7"));
    expect(h.receiver.bodies().map((b) => b.event)).toEqual([
      "client.connected",
      "message.publish",
      "client.disconnected",
    ]);
  });
});

describe("rule files", () => {
  const startWith = (rules: Rule[]) =>
    startHarness({ rulesDir: tempRulesDir(rules) }).then(
      () => "started",
      (error: Error) => error.message,
    );

  it("refuses SQL outside the supported subset, naming the rule and the part", async () => {
    expect(await startWith([{ id: "fields", sql: 'SELECT payload.x as x FROM "t/#"' }])).toMatch(
      /rule "fields": the stand-in supports only .*unsupported: SELECT payload\.x as x/,
    );
    expect(
      await startWith([{ id: "or", sql: "SELECT * FROM \"t/#\" WHERE topic =~ 'a/+' or clientid = 'x'" }]),
    ).toMatch(
      /rule "or": the stand-in supports only .*unsupported: WHERE topic =~ 'a\/\+' or clientid = 'x'/,
    );
    expect(await startWith([{ id: "event", sql: 'SELECT * FROM "$events/session_subscribed"' }])).toMatch(
      /rule "event".*unsupported: FROM "\$events\/session_subscribed"/,
    );
    expect(await startWith([{ id: "filter", sql: 'SELECT * FROM "a/#/b"' }])).toMatch(
      /rule "filter".*# must be the last/,
    );
  });

  it("refuses a rule whose action does not exist, and skips disabled rules", async () => {
    expect(await startWith([{ id: "orphan", sql: 'SELECT * FROM "t"', actions: ["http:nope"] }])).toMatch(
      /rule "orphan" uses action "http:nope", which does not exist/,
    );
    expect(await startWith([{ id: "off", sql: "SELECT nonsense", enable: false }])).toBe("started");
  });

  it("applies WHERE clientid != and topic =~ filters", async () => {
    const dir = tempRulesDir([
      { id: "not_api", sql: "SELECT * FROM \"t/#\" WHERE clientid != 'http_api' and topic =~ 't/+/up'" },
    ]);
    const h = await startHarness({ rulesDir: dir });
    const device = await h.connect("dev-13");
    await device.publishAsync("t/1/down", "no", { qos: 1 });
    await device.publishAsync("t/1/up", "yes", { qos: 1 });
    await h.api("/publish", { topic: "t/2/up", payload: "api" });
    await h.receiver.find((b) => b.payload === "yes");
    await h.standIn.idle();
    expect(h.receiver.bodies().map((b) => b.payload)).toEqual(["yes"]);
  });
});

describe("management API", () => {
  it("answers 401 with BAD_API_KEY_OR_SECRET for a wrong or missing key", async () => {
    const h = await startHarness();
    const wrong = `Basic ${Buffer.from(`${KEY}:nope`).toString("base64")}`;
    for (const auth of [wrong, ""]) {
      const response = await h.api("/publish", { topic: "a", payload: "x" }, auth);
      expect(response).toMatchObject({ status: 401, body: { code: "BAD_API_KEY_OR_SECRET" } });
    }
  });

  it("answers 202 no_matching_subscribers without a subscriber, and still runs the rules as http_api", async () => {
    const h = await startHarness();
    const response = await h.api("/publish", {
      topic: "api/mqtt/v1/dev-14/st",
      payload: '{"online":true}',
      qos: 1,
    });
    expect(response).toEqual({ status: 202, body: { reason_code: 16, message: "no_matching_subscribers" } });
    const body = await h.receiver.find(byEvent("message.publish"));
    expect(body).toMatchObject({
      id: expect.stringMatching(GUID),
      clientid: "http_api",
      username: "undefined",
      peerhost: "undefined",
      flags: { retain: false },
      metadata: { rule_id: "bridge_status" },
    });
    expect(body.flags).not.toHaveProperty("dup");
  });

  it("answers 200 with the id when a subscriber exists, and posts message.acked after its PUBACK", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-15");
    await device.subscribeAsync("api/mqtt/v1/dev-15/cmd", { qos: 1 });
    const received = new Promise<{ topic: string; payload: string }>((resolve) =>
      device.once("message", (topic, payload) => resolve({ topic, payload: payload.toString() })),
    );
    const response = await h.api("/publish", {
      topic: "api/mqtt/v1/dev-15/cmd",
      payload: '{"id":"c1","op":"sync_user"}',
      qos: 1,
      properties: { user_properties: { cmd_id: "c1" }, message_expiry_interval: 300 },
    });
    expect(response.status).toBe(200);
    const { id } = response.body as { id: string };
    expect(id).toMatch(GUID);
    expect(await received).toEqual({
      topic: "api/mqtt/v1/dev-15/cmd",
      payload: '{"id":"c1","op":"sync_user"}',
    });

    const acked = await h.receiver.find(byEvent("message.acked"));
    expect(acked).toMatchObject({
      id,
      from_clientid: "http_api",
      from_username: "undefined",
      clientid: "dev-15",
      username: "undefined",
      payload: '{"id":"c1","op":"sync_user"}',
      peerhost: "127.0.0.1",
      topic: "api/mqtt/v1/dev-15/cmd",
      qos: 1,
      flags: { retain: false },
      pub_props: {
        "User-Property": { cmd_id: "c1" },
        "User-Property-Pairs": [{ key: "cmd_id", value: "c1" }],
        "Message-Expiry-Interval": 300,
      },
      puback_props: { "User-Property": {} },
      publish_received_at: expect.any(Number),
      event: "message.acked",
      metadata: { rule_id: "bridge_cmd_acks" },
    });
  });

  it("posts message.acked on PUBREC for QoS 2, and nothing more on PUBCOMP", async () => {
    const h = await startHarness();
    const topic = "api/mqtt/v1/dev-q2/cmd";
    const device = rawClient(h.mqttPort);
    device.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: true,
      clientId: "dev-q2",
      keepalive: 0,
    });
    await device.next("connack");
    device.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos: 2 }] });
    await device.next("suback");
    const response = await h.api("/publish", { topic, payload: "q2", qos: 2 });
    expect(response.status).toBe(200);
    const publish = await device.next("publish");
    device.send({ cmd: "pubrec", messageId: publish.messageId as number });
    await device.next("pubrel");

    const acked = await h.receiver.find(byEvent("message.acked"));
    expect(acked).toMatchObject({ id: (response.body as { id: string }).id, clientid: "dev-q2", qos: 2 });
    device.send({ cmd: "pubcomp", messageId: publish.messageId as number });
    // aedes handles one client's packets in order: once PINGRESP is back, the PUBCOMP was handled.
    device.send({ cmd: "pingreq" });
    await device.next("pingresp");
    await h.standIn.idle();
    expect(h.receiver.bodies(byEvent("message.acked"))).toHaveLength(1);
  });

  it("posts message.acked for a device-to-device QoS 1 message with the publisher's id", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-16", { clean: false });
    await device.subscribeAsync("api/mqtt/v1/dev-16/cmd", { qos: 1 });
    const sender = await h.connect("sender");
    await sender.publishAsync("api/mqtt/v1/dev-16/cmd", "hi", { qos: 1 });
    const acked = await h.receiver.find(byEvent("message.acked"));
    expect(acked).toMatchObject({
      id: expect.stringMatching(GUID),
      from_clientid: "sender",
      clientid: "dev-16",
    });
  });

  it("refuses invalid messages with EMQX's error bodies", async () => {
    const h = await startHarness();
    expect(await h.api("/publish", { topic: "a/+/b", payload: "x" })).toEqual({
      status: 400,
      body: { reason_code: 144, message: "topic_name_invalid" },
    });
    expect(await h.api("/publish", { topic: "a", payload: { not: "a string" } })).toMatchObject({
      status: 400,
      body: { code: "BAD_REQUEST" },
    });
    expect(await h.api("/publish", { payload: "x" })).toMatchObject({
      status: 400,
      body: { code: "BAD_REQUEST" },
    });
    expect(await h.api("/publish", { topic: "a", payload: "x", qos: 3 })).toMatchObject({ status: 400 });
    expect(await h.api("/publish", "{not json")).toMatchObject({
      status: 400,
      body: { code: "BAD_REQUEST" },
    });
  });

  it("bulk: one invalid item gives a single 400 and publishes nothing", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-17");
    await device.subscribeAsync("api/mqtt/v1/dev-17/cmd", { qos: 1 });
    const delivered: string[] = [];
    device.on("message", (_topic, payload) => delivered.push(payload.toString()));
    await h.receiver.find(byEvent("client.connected"));
    await h.standIn.idle();
    const before = h.receiver.requests.length;

    const response = await h.api("/publish/bulk", [
      { topic: "api/mqtt/v1/dev-17/cmd", payload: "ok", qos: 1 },
      { topic: "api/mqtt/v1/#", payload: "bad", qos: 1 },
    ]);
    expect(response).toEqual({ status: 400, body: { reason_code: 144, message: "topic_name_invalid" } });
    // A marker published after the refused batch: the broker delivers in order, so once it is in, "ok"
    // would be too, had it been published; and the rule requests it would have caused would have been made.
    await h.api("/publish", { topic: "api/mqtt/v1/dev-17/cmd", payload: "marker", qos: 1 });
    await until(() => delivered.includes("marker"));
    await h.standIn.idle();
    expect(delivered).toEqual(["marker"]);
    expect(h.receiver.requests.slice(before).filter((r) => JSON.stringify(r.body).includes('"ok"'))).toEqual(
      [],
    );
  });

  it("bulk: per-item results, 202 when some had no subscriber, 500 for an empty batch", async () => {
    const h = await startHarness();
    const device = await h.connect("dev-18");
    await device.subscribeAsync("api/mqtt/v1/dev-18/cmd", { qos: 1 });
    const response = await h.api("/publish/bulk", [
      { topic: "api/mqtt/v1/dev-18/cmd", payload: "1", qos: 1 },
      { topic: "api/mqtt/v1/nobody/cmd", payload: "2", qos: 1 },
    ]);
    expect(response.status).toBe(202);
    expect(response.body).toEqual([
      { id: expect.stringMatching(GUID) },
      { reason_code: 16, message: "no_matching_subscribers" },
    ]);
    const all = await h.api("/publish/bulk", [{ topic: "api/mqtt/v1/dev-18/cmd", payload: "3", qos: 1 }]);
    expect(all.status).toBe(200);
    expect((await h.api("/publish/bulk", [])).status).toBe(500);
  });

  it("answers 503 failed_to_dispatch while a publish failure is simulated", async () => {
    const h = await startHarness();
    h.standIn.setPublishFailure(503);
    expect(await h.api("/publish", { topic: "a", payload: "x" })).toEqual({
      status: 503,
      body: { reason_code: 131, message: "failed_to_dispatch" },
    });
    h.standIn.setPublishFailure(null);
    expect((await h.api("/publish", { topic: "a", payload: "x" })).status).toBe(202);
  });

  it("GET /clients/{id}: connected clients, persistent sessions after disconnect, 404 otherwise", async () => {
    const h = await startHarness();
    const clean = await h.connect("dev-19");
    const persistent = await h.connect("dev-20", { clean: false });
    await persistent.subscribeAsync("x/y", { qos: 1 });

    const online = await h.api("/clients/dev-20");
    expect(online).toMatchObject({
      status: 200,
      body: { clientid: "dev-20", connected: true, clean_start: false, subscriptions_cnt: 1, proto_ver: 4 },
    });
    expect(new Date((online.body as { connected_at: string }).connected_at).toISOString()).toBe(
      (online.body as { connected_at: string }).connected_at,
    );

    await clean.endAsync();
    await persistent.endAsync();
    await until(() => h.receiver.bodies(byEvent("client.disconnected")).length === 2);
    expect(await h.api("/clients/dev-19")).toEqual({
      status: 404,
      body: { code: "CLIENTID_NOT_FOUND", message: expect.any(String) },
    });
    expect(await h.api("/clients/dev-20")).toMatchObject({
      status: 200,
      body: { connected: false, disconnected_at: expect.any(String) },
    });
    expect((await h.api("/clients/never-seen")).status).toBe(404);
  });

  it("aedes 1.2 refuses MQTT 5 clients, so user properties reach subscribers only in rule bodies", async () => {
    const h = await startHarness();
    await expect(h.connect("v5", { protocolVersion: 5 })).rejects.toThrow(/protocol version/i);
  });
});

/** Waits until the clock has moved past `ms` (epoch ms), so the next event gets a later timestamp. */
async function laterThan(ms: unknown): Promise<void> {
  await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(Number(ms)), { interval: 1 });
}
