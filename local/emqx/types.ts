/**
 * Shapes shared by the EMQX stand-in's parts. Field names follow EMQX (docs/emqx.md §3, §6).
 */

/** Erlang node name EMQX puts in every rule event. */
export const NODE_NAME = "emqx@127.0.0.1";

/** Publisher id of messages that came in through `POST /api/v5/publish`. */
export const HTTP_API_CLIENTID = "http_api";

/** What EMQX's JSON encoder writes for an absent value (docs/emqx.md §4.1). */
export const UNDEFINED = "undefined";

/** The `$events/...` topics the stand-in can emit, and the `event` value each one carries. */
export const EVENT_TOPICS = {
  "$events/client_connected": "client.connected",
  "$events/client_disconnected": "client.disconnected",
  "$events/message_delivered": "message.delivered",
  "$events/message_acked": "message.acked",
} as const;

export type EventTopic = keyof typeof EVENT_TOPICS;
export type EventName = (typeof EVENT_TOPICS)[EventTopic] | "message.publish";

/** MQTT 5 PUBLISH properties as the management API accepts them (snake_case, docs/emqx.md §8.1). */
export interface PublishProperties {
  payload_format_indicator?: 0 | 1;
  message_expiry_interval?: number;
  response_topic?: string;
  correlation_data?: string;
  user_properties?: Record<string, string>;
  content_type?: string;
}

/** One MQTT connection as the rule events describe it; filled at CONNECT, completed at CONNACK. */
export interface Connection {
  clientid: string;
  username: string | undefined;
  peerhost: string;
  peername: string;
  sockname: string;
  protoName: string;
  protoVer: number;
  keepalive: number;
  cleanStart: boolean;
  /** Seconds; MQTT 3.1.1 persistent sessions get EMQX's default of 2 h. */
  expiryInterval: number;
  isBridge: boolean;
  /** ms; 0 until the CONNACK went out. */
  connectedAt: number;
  /** The EMQX channel process of this connection: a reconnect is a new process (see `RuleEvent.pickKey`). */
  process: string;
}

/** One published message, whoever published it: a client, a last will or the management API. */
export interface Message {
  /** EMQX GUID: 32 uppercase hex chars, new for every PUBLISH received. */
  id: string;
  fromClientid: string;
  fromUsername: string | undefined;
  /** `undefined` for wills and API messages, which carry no peer address in EMQX. */
  peerhost: string | undefined;
  peername: string | undefined;
  topic: string;
  qos: number;
  retain: boolean;
  /** API messages carry only `retain` in `flags`. */
  fromApi: boolean;
  payload: Buffer;
  properties: PublishProperties | undefined;
  receivedAt: number;
  /** The process that published it: the client's channel (wills too), or one per management API request. */
  process: string;
}

/** Something a rule may select: the event topic it comes from and its `SELECT *` columns. */
export interface RuleEvent {
  event: EventName;
  /** The message topic for `message.publish`, else the `$events/...` topic. */
  source: string;
  /** Every column except `metadata`, in EMQX's order. */
  columns: Record<string, unknown>;
  /**
   * The process the rule ran in, which picks the buffer worker (EMQX's `pick_key` defaults to `self()`): the
   * publisher's channel for `message.publish`, the subscriber's for deliveries and acks, the connection's own
   * for lifecycle events. One client id may thus use several workers over reconnects.
   */
  pickKey: string;
}

/** Counters in the spirit of EMQX's rule and action metrics. */
export interface Metrics {
  /** Rule matches (one per rule and event). */
  matched: number;
  /** Requests answered 2xx. */
  success: number;
  /** Requests dropped after an unrecoverable answer (4xx but 429, 5xx but 503, transport errors other than
   * econnrefused, timeout and closed after 3 tries). */
  failed: number;
  /** Re-sends after a recoverable failure (429, 503, connection error, timeout). */
  retried: number;
  /** Requests dropped because they got older than `request_ttl` before being (re)sent. */
  droppedExpired: number;
  /** Requests whose answer came after `request_ttl`: EMQX drops them whatever the answer was. */
  lateReply: number;
  /** Requests accepted but not finished yet: queued, being sent or waiting to be retried. */
  inflight: number;
}

export type Log = (line: string) => void;
