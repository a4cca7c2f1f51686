/**
 * Rule events with the columns EMQX puts in `SELECT *` (docs/emqx.md §3).
 * Key order follows EMQX's examples; absent values are the string "undefined", as EMQX's encoder writes them.
 */
import { randomBytes } from "node:crypto";
import { isValidUtf8, jiffyFixBytes, jiffyFixString } from "./jiffy-utf8.ts";
import {
  type Connection,
  type EventName,
  type EventTopic,
  type Message,
  NODE_NAME,
  type PublishProperties,
  type RuleEvent,
  UNDEFINED,
} from "./types.ts";

/** A new EMQX message GUID: 32 uppercase hex chars. */
export function newMessageId(): string {
  return randomBytes(16).toString("hex").toUpperCase();
}

let processCount = 0;

/** A new Erlang-style process id, e.g. `<0.1234.0>`, for a channel or a management API request. */
export function newProcessId(): string {
  processCount++;
  return `<0.${processCount}.0>`;
}

const str = (value: string | undefined) => value ?? UNDEFINED;
const emptyProps = () => ({ "User-Property": {} });

/** `message.publish`, for a message published on `message.topic`. */
export function messagePublishEvent(message: Message): RuleEvent {
  return messageEvent("message.publish", message.topic, message, message.process, {
    id: message.id,
    clientid: message.fromClientid,
    username: str(message.fromUsername),
    payload: "", // filled by messageEvent
    peerhost: str(message.peerhost),
    peername: str(message.peername),
    topic: message.topic,
    qos: message.qos,
    flags: flags(message),
    pub_props: pubProps(message.properties),
    publish_received_at: message.receivedAt,
    client_attrs: {},
  });
}

/** `client.connected`, once the CONNACK went out. */
export function clientConnectedEvent(connection: Connection): RuleEvent {
  return event("client.connected", "$events/client_connected", connection.process, {
    clientid: connection.clientid,
    username: str(connection.username),
    mountpoint: UNDEFINED,
    peername: connection.peername,
    sockname: connection.sockname,
    proto_name: connection.protoName,
    proto_ver: connection.protoVer,
    keepalive: connection.keepalive,
    clean_start: connection.cleanStart,
    // EMQX uses max_inflight (32) for clients that cannot announce a Receive Maximum (MQTT < 5).
    receive_maximum: 32,
    expiry_interval: connection.expiryInterval,
    is_bridge: connection.isBridge,
    conn_props: emptyProps(),
    connected_at: connection.connectedAt,
    client_attrs: {},
  });
}

/** `client.disconnected` for the connection that is closing (its own `connected_at`). */
export function clientDisconnectedEvent(
  connection: Connection,
  reason: string,
  disconnectedAt: number,
): RuleEvent {
  return event("client.disconnected", "$events/client_disconnected", connection.process, {
    reason,
    clientid: connection.clientid,
    username: str(connection.username),
    peername: connection.peername,
    sockname: connection.sockname,
    proto_name: connection.protoName,
    proto_ver: connection.protoVer,
    disconn_props: emptyProps(),
    disconnected_at: disconnectedAt,
    connected_at: connection.connectedAt,
    client_attrs: {},
  });
}

/** `message.delivered` (handed to the subscriber) or `message.acked` (the subscriber PUBACKed it). */
export function deliveryEvent(
  kind: "message.delivered" | "message.acked",
  message: Message,
  subscriber: Connection,
  qos: number,
): RuleEvent {
  const source: EventTopic = kind === "message.acked" ? "$events/message_acked" : "$events/message_delivered";
  return messageEvent(kind, source, message, subscriber.process, {
    id: message.id,
    from_clientid: message.fromClientid,
    from_username: str(message.fromUsername),
    clientid: subscriber.clientid,
    username: str(subscriber.username),
    payload: "", // filled by messageEvent
    peerhost: subscriber.peerhost,
    peername: subscriber.peername,
    topic: message.topic,
    qos,
    flags: flags(message),
    pub_props: pubProps(message.properties),
    ...(kind === "message.acked" ? { puback_props: emptyProps() } : {}),
    publish_received_at: message.receivedAt,
  });
}

function event(
  name: EventName,
  source: string,
  pickKey: string,
  columns: Record<string, unknown>,
): RuleEvent {
  return {
    event: name,
    source,
    columns: { ...columns, event: name, timestamp: Date.now(), node: NODE_NAME },
    pickKey,
  };
}

/**
 * An event carrying the message payload. A valid UTF-8 payload is kept as it is; an invalid one makes jiffy
 * (`force_utf8`) re-decode every string of the body, so the payload gets one U+FFFD per bad byte run and the
 * other strings lose their U+FFFE/U+FFFF (jiffy-utf8.ts).
 */
function messageEvent(
  name: EventName,
  source: string,
  message: Message,
  pickKey: string,
  columns: Record<string, unknown>,
): RuleEvent {
  const built = event(name, source, pickKey, columns);
  if (isValidUtf8(message.payload)) {
    built.columns.payload = message.payload.toString("utf8");
    return built;
  }
  built.columns = fixStrings(built.columns) as Record<string, unknown>;
  built.columns.payload = jiffyFixBytes(message.payload);
  return built;
}

function fixStrings(value: unknown): unknown {
  if (typeof value === "string") return jiffyFixString(value);
  if (Array.isArray(value)) return value.map(fixStrings);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, item]) => [jiffyFixString(k), fixStrings(item)]),
    );
  }
  return value;
}

// EMQX clears `dup` before the hook; API messages carry only `retain` (docs/emqx.md §3.2).
function flags(message: Message): Record<string, boolean> {
  return message.fromApi ? { retain: message.retain } : { retain: message.retain, dup: false };
}

/**
 * Title-Case MQTT 5 properties (`emqx_rule_events:printable_maps/1`): `User-Property` is always there;
 * `User-Property-Pairs` whenever the message has user properties at all, so an empty set prints as `[]`.
 */
export function pubProps(properties: PublishProperties | undefined): Record<string, unknown> {
  const user = Object.entries(properties?.user_properties ?? {});
  const props: Record<string, unknown> = { "User-Property": Object.fromEntries(user) };
  if (!properties) return props;
  if (properties.user_properties) props["User-Property-Pairs"] = user.map(([key, value]) => ({ key, value }));
  const titled: Array<[string, unknown]> = [
    ["Payload-Format-Indicator", properties.payload_format_indicator],
    ["Message-Expiry-Interval", properties.message_expiry_interval],
    ["Content-Type", properties.content_type],
    ["Response-Topic", properties.response_topic],
    ["Correlation-Data", properties.correlation_data],
  ];
  for (const [name, value] of titled) if (value !== undefined) props[name] = value;
  return props;
}
