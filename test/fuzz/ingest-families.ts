import fc from "fast-check";
import { connectedBody, disconnectedBody, messageAckedBody, publishBody } from "../support/emqx-bodies.ts";
import type { CaseSpec, FuzzCase } from "./cases.ts";
import { encodeSegment } from "./cases.ts";
import { ackPayload, type Payload, punchPayload, statusPayload, validRecord } from "./payloads.ts";
import { badMillis, badSerial, oddJsonText, wrongType } from "./values.ts";

const RULE_EVENTS = "/emqx/rule-events";
type Channel = "evt" | "st" | "ack";

const emqxCase = (family: string, body: string, expect: FuzzCase["expect"]): FuzzCase => ({
  family,
  target: "ingest",
  method: "POST",
  path: RULE_EVENTS,
  auth: { kind: "emqx" },
  body,
  expect,
  quarantined: true,
});

/** A device payload published on `api/mqtt/v1/{sn}/{channel}`, as EMQX's rule posts it. */
const published =
  (family: string, channel: Channel, payload: Payload): CaseSpec =>
  (sn) =>
    emqxCase(
      family,
      JSON.stringify(publishBody(`api/mqtt/v1/${sn}/${channel}`, payload.text)),
      payload.expect,
    );

/** The same payload from an HTTP device with its own token. */
const posted =
  (family: string, channel: Channel, payload: Payload): CaseSpec =>
  (sn) => ({
    family,
    target: "ingest",
    method: "POST",
    path: `/v1/devices/${sn}/${channel}`,
    auth: { kind: "device", sn },
    body: payload.text,
    expect: payload.expect,
    quarantined: true,
  });

const devicePayloads = (send: typeof published, prefix: string) =>
  fc.oneof(
    { arbitrary: punchPayload.map((p) => send(`${prefix}.punch`, "evt", p)), weight: 6 },
    { arbitrary: statusPayload.map((p) => send(`${prefix}.status`, "st", p)), weight: 1 },
    { arbitrary: ackPayload.map((p) => send(`${prefix}.ack`, "ack", p)), weight: 1 },
  );

type Body = Record<string, unknown>;
const corrupt = (key: string, value: unknown) => (body: Body) => {
  if (value === undefined) delete body[key];
  else body[key] = value;
  return body;
};

/** A message.publish envelope with one field EMQX would never send. */
const envelopeFault = fc.oneof(
  fc.constantFrom("x", "0".repeat(31), "g".repeat(32), 5, null).map((v) => corrupt("id", v)),
  wrongType("string").map((v) => corrupt("clientid", v)),
  wrongType("string").map((v) => corrupt("payload", v)),
  fc
    .constantFrom(
      5,
      null,
      "api/mqtt/v1//evt",
      "api/mqtt/v1/a+b/evt",
      "api/mqtt/v1/SN/xyz",
      "x",
      `api/mqtt/v1/${"x".repeat(65)}/evt`,
      "api/mqtt/v1/SN/evt/more",
    )
    .map((v) => corrupt("topic", v)),
  badMillis.map((v) => corrupt("publish_received_at", v)),
  fc.constantFrom("message.unknown", 1, null, "").map((v) => corrupt("event", v)),
  fc.constantFrom("x", 5, { rule_id: 5 }).map((v) => corrupt("metadata", v)),
  fc.constantFrom(3, "1", -1).map((v) => corrupt("qos", v)),
  fc
    .constantFrom("id", "payload", "topic", "publish_received_at", "event", "clientid")
    .map((k) => corrupt(k, undefined)),
);

const envelope: fc.Arbitrary<CaseSpec> = envelopeFault.map((fault) => (sn) => {
  const body = publishBody(`api/mqtt/v1/${sn}/evt`, JSON.stringify(validRecord()));
  return emqxCase("emqx.envelope", JSON.stringify(fault(body)), "reject");
});

/** client.connected / client.disconnected with impossible times or wrong types. */
const lifecycle: fc.Arbitrary<CaseSpec> = fc.oneof(
  badMillis.map(
    (at) => (sn: string) =>
      emqxCase(
        "emqx.lifecycle",
        JSON.stringify({ ...connectedBody(sn, Date.now()), connected_at: at }),
        "reject",
      ),
  ),
  fc.tuple(fc.constantFrom("connected_at", "disconnected_at"), badMillis).map(([key, at]) => (sn: string) => {
    const body: Body = disconnectedBody(sn, Date.now() - 1_000, Date.now(), "normal");
    return emqxCase("emqx.lifecycle", JSON.stringify(corrupt(key, at)(body)), "reject");
  }),
  wrongType("string").map(
    (reason) => (sn: string) =>
      emqxCase("emqx.lifecycle", JSON.stringify({ ...disconnectedBody(sn, 1, 2, "x"), reason }), "reject"),
  ),
  // EMQX before 5.8.6 sends no connected_at on a disconnect (issue 8, item 10).
  fc.constant((sn: string) =>
    emqxCase(
      "emqx.lifecycle",
      JSON.stringify(corrupt("connected_at", undefined)(disconnectedBody(sn, 1, Date.now(), "normal"))),
      "any",
    ),
  ),
);

/** message.acked with a broken envelope. */
const acked: fc.Arbitrary<CaseSpec> = fc
  .oneof(
    fc.constantFrom("x", 5, null).map((v) => corrupt("id", v)),
    wrongType("string").map((v) => corrupt("topic", v)),
    wrongType("string").map((v) => corrupt("payload", v)),
    fc.constantFrom(5, "x", { "User-Property": 5 }).map((v) => corrupt("pub_props", v)),
  )
  .map((fault) => (sn) => {
    const body = messageAckedBody(sn, "c1", { id: "c1", op: "ping" });
    return emqxCase("emqx.acked", JSON.stringify(fault(body)), "reject");
  });

const emqxBadJson: fc.Arbitrary<CaseSpec> = oddJsonText.map(
  (text) => () => emqxCase("emqx.json", text, "reject"),
);

/**
 * HTTP device routes under a serial number no device can have; the token is the one derived for it. The
 * 400 names `sn` before any token is checked, so nothing is kept: nobody authenticated.
 */
const deviceSerial: fc.Arbitrary<CaseSpec> = fc
  .tuple(badSerial, fc.constantFrom<Channel>("evt", "st", "ack"))
  .map(([bad, channel]) => () => ({
    family: "device.sn",
    target: "ingest",
    method: "POST",
    path: `/v1/devices/${encodeSegment(bad)}/${channel}`,
    auth: { kind: "device", sn: bad },
    body: JSON.stringify(validRecord()),
    expect: "reject",
    quarantined: false,
  }));

/** Every EMQX and HTTP-device family of the ingest, by weight. */
export const ingestCases: fc.Arbitrary<CaseSpec> = fc.oneof(
  { arbitrary: emqxBadJson, weight: 2 },
  { arbitrary: envelope, weight: 3 },
  { arbitrary: devicePayloads(published, "emqx"), weight: 8 },
  { arbitrary: lifecycle, weight: 2 },
  { arbitrary: acked, weight: 1 },
  { arbitrary: devicePayloads(posted, "device"), weight: 6 },
  { arbitrary: deviceSerial, weight: 2 },
);
