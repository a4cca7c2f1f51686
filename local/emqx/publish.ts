/**
 * `POST /api/v5/publish` semantics (docs/emqx.md §8.1, §8.2): validation with EMQX's error bodies, publishing as
 * `http_api`, and the 200 / 202 / 503 answer depending on whether anyone is subscribed.
 */
import type { Aedes, PublishPacket } from "aedes";
import * as v from "valibot";
import { connectedClients, persistentSubscriptions, subscriptionsOf } from "./aedes-internals.ts";
import { newMessageId, newProcessId } from "./bodies.ts";
import type { BrokerObserver } from "./broker-observer.ts";
import { topicMatches, topicNameError } from "./topic.ts";
import { HTTP_API_CLIENTID, type Message } from "./types.ts";

const Properties = v.looseObject({
  payload_format_indicator: v.optional(v.picklist([0, 1])),
  message_expiry_interval: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  response_topic: v.optional(v.string()),
  correlation_data: v.optional(v.string()),
  user_properties: v.optional(v.record(v.string(), v.string())),
  content_type: v.optional(v.string()),
});

/** One message of a publish request, as EMQX's schema checks it before anything else. */
export const PublishRequest = v.looseObject({
  topic: v.string(),
  payload: v.string(),
  payload_encoding: v.optional(v.picklist(["plain", "base64"]), "plain"),
  qos: v.optional(v.picklist([0, 1, 2]), 0),
  retain: v.optional(v.boolean(), false),
  properties: v.optional(Properties),
});
export type PublishRequest = v.InferOutput<typeof PublishRequest>;

/** An HTTP answer: status and JSON body. */
export interface Reply {
  status: 200 | 202 | 400 | 503;
  body: Record<string, unknown>;
}

/** A request that passed every check, ready to publish. */
export interface Prepared {
  request: PublishRequest;
  payload: Buffer;
}

// mqtt.max_packet_size default (docs/emqx.md §8.2).
const MAX_PACKET_BYTES = 1024 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const NO_SUBSCRIBERS = { reason_code: 16, message: "no_matching_subscribers" };
export const FAILED_TO_DISPATCH = { reason_code: 131, message: "failed_to_dispatch" };

/** Checks one message; a 400 reply when it is invalid. */
export function prepare(raw: unknown, where = ""): Prepared | Reply {
  const parsed = v.safeParse(PublishRequest, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = `${where}${v.getDotPath(issue) ?? "body"}`;
    return { status: 400, body: { code: "BAD_REQUEST", message: `${path}: ${issue.message}` } };
  }
  const request = parsed.output;
  if (topicNameError(request.topic))
    return { status: 400, body: { reason_code: 144, message: "topic_name_invalid" } };
  if (request.payload_encoding === "base64" && !BASE64.test(request.payload)) {
    return { status: 400, body: { reason_code: 131, message: "invalid base64 payload" } };
  }
  const payload = Buffer.from(request.payload, request.payload_encoding === "base64" ? "base64" : "utf8");
  const size =
    Buffer.byteLength(request.topic) + payload.length + JSON.stringify(request.properties ?? {}).length;
  if (size > MAX_PACKET_BYTES)
    return { status: 400, body: { reason_code: 151, message: "packet_too_large" } };
  return { request, payload };
}

export function isReply(value: Prepared | Reply): value is Reply {
  return "status" in value;
}

/** Publishes checked messages into aedes as `http_api`. */
export class ApiPublisher {
  readonly #broker: Aedes;
  readonly #observer: BrokerObserver;
  /** When set, every publish answers this, as a broker that cannot dispatch does. */
  failure: 503 | null = null;

  constructor(broker: Aedes, observer: BrokerObserver) {
    this.#broker = broker;
    this.#observer = observer;
  }

  async publish({ request, payload }: Prepared): Promise<Reply> {
    if (this.failure) return { status: this.failure, body: FAILED_TO_DISPATCH };
    const matched = await this.#hasSubscribers(request.topic);
    const message = toMessage(request, payload);
    const packet = toPacket(request, payload);
    this.#observer.remember(packet, message);
    const error = await new Promise<Error | undefined>((resolve) => this.#broker.publish(packet, resolve));
    if (error) return { status: 503, body: FAILED_TO_DISPATCH };
    // Rules run and retained messages are stored either way; only the answer tells "nobody listens".
    return matched ? { status: 200, body: { id: message.id } } : { status: 202, body: NO_SUBSCRIBERS };
  }

  /** Connected subscribers, plus persistent sessions that would queue it (EMQX answers 200 for those). */
  async #hasSubscribers(topic: string): Promise<boolean> {
    const live = connectedClients(this.#broker).some((client) =>
      subscriptionsOf(client).some(([filter]) => topicMatches(filter, topic)),
    );
    if (live) return true;
    const stored = await persistentSubscriptions(this.#broker, topic).catch(() => []);
    return stored.length > 0;
  }
}

function toMessage(request: PublishRequest, payload: Buffer): Message {
  return {
    id: newMessageId(),
    fromClientid: HTTP_API_CLIENTID,
    fromUsername: undefined,
    peerhost: undefined,
    peername: undefined,
    topic: request.topic,
    qos: request.qos,
    retain: request.retain,
    fromApi: true,
    payload,
    // EMQX keeps no properties when the object is empty (emqx_mgmt_api_publish, map_size > 0).
    properties:
      request.properties && Object.keys(request.properties).length > 0 ? request.properties : undefined,
    receivedAt: Date.now(),
    // Each API request runs in its own process, so its rules may use any buffer worker.
    process: newProcessId(),
  };
}

/** An mqtt-packet PUBLISH; aedes 1.2 speaks MQTT 3.1.1 only, so the v5 properties ride along unused. */
function toPacket(request: PublishRequest, payload: Buffer): PublishPacket {
  const packet: PublishPacket = {
    cmd: "publish",
    topic: request.topic,
    payload,
    qos: request.qos,
    retain: request.retain,
    dup: false,
  };
  const props = request.properties;
  if (!props) return packet;
  const properties = {
    userProperties: props.user_properties,
    messageExpiryInterval: props.message_expiry_interval,
    contentType: props.content_type,
    responseTopic: props.response_topic,
    correlationData: props.correlation_data === undefined ? undefined : Buffer.from(props.correlation_data),
    payloadFormatIndicator:
      props.payload_format_indicator === undefined ? undefined : props.payload_format_indicator === 1,
  };
  return {
    ...packet,
    properties: Object.fromEntries(Object.entries(properties).filter(([, value]) => value !== undefined)),
  };
}
