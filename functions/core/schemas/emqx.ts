import * as v from "valibot";
import { EmqxOptionalString } from "./common.ts";

const Metadata = v.optional(v.looseObject({ rule_id: v.optional(v.string()) }));
const Millis = (field: string) => v.number(`${field} must be a number of milliseconds`);

/** Body of a `message.publish` rule event (EMQX-CONTRACT §1.2); unknown keys are accepted. */
export const EmqxMessagePublish = v.looseObject({
  event: v.literal("message.publish"),
  id: v.pipe(v.string("id must be a string"), v.regex(/^[0-9A-Fa-f]{32}$/, "id must be 32 hex characters")),
  clientid: v.string("clientid must be a string"),
  username: EmqxOptionalString,
  payload: v.string("payload must be a string"),
  topic: v.string("topic must be a string"),
  qos: v.optional(v.picklist([0, 1, 2], "qos must be 0, 1 or 2")),
  peerhost: EmqxOptionalString,
  publish_received_at: Millis("publish_received_at"),
  timestamp: v.optional(v.number()),
  metadata: Metadata,
});
export type EmqxMessagePublish = v.InferOutput<typeof EmqxMessagePublish>;

/** Body of a `client.connected` rule event (EMQX-CONTRACT §1.3). */
export const EmqxClientConnected = v.looseObject({
  event: v.literal("client.connected"),
  clientid: v.string("clientid must be a string"),
  username: EmqxOptionalString,
  connected_at: Millis("connected_at"),
  clean_start: v.optional(v.boolean()),
  timestamp: v.optional(v.number()),
  metadata: Metadata,
});
export type EmqxClientConnected = v.InferOutput<typeof EmqxClientConnected>;

/** Body of a `client.disconnected` rule event (EMQX-CONTRACT §1.4); `reason` is an open set. */
export const EmqxClientDisconnected = v.looseObject({
  event: v.literal("client.disconnected"),
  clientid: v.string("clientid must be a string"),
  username: EmqxOptionalString,
  reason: v.string("reason must be a string"),
  connected_at: Millis("connected_at"),
  disconnected_at: Millis("disconnected_at"),
  timestamp: v.optional(v.number()),
  metadata: Metadata,
});
export type EmqxClientDisconnected = v.InferOutput<typeof EmqxClientDisconnected>;

/** Body of a `message.acked` rule event: a subscriber PUBACKed a QoS 1 message (EMQX-CONTRACT §1.5). */
export const EmqxMessageAcked = v.looseObject({
  event: v.literal("message.acked"),
  id: v.pipe(v.string("id must be a string"), v.regex(/^[0-9A-Fa-f]{32}$/, "id must be 32 hex characters")),
  clientid: v.string("clientid must be a string"),
  from_clientid: v.optional(v.string()),
  topic: v.string("topic must be a string"),
  payload: v.string("payload must be a string"),
  pub_props: v.optional(v.looseObject({ "User-Property": v.optional(v.record(v.string(), v.unknown())) })),
  timestamp: v.optional(v.number()),
  metadata: Metadata,
});
export type EmqxMessageAcked = v.InferOutput<typeof EmqxMessageAcked>;

export const EMQX_RULE_EVENTS = [
  "message.publish",
  "message.acked",
  "client.connected",
  "client.disconnected",
] as const;

/** Everything a bridge rule may POST, told apart by `event`. */
export const EmqxRuleEvent = v.variant(
  "event",
  [EmqxMessagePublish, EmqxMessageAcked, EmqxClientConnected, EmqxClientDisconnected],
  `event must be one of ${EMQX_RULE_EVENTS.join(", ")}`,
);
export type EmqxRuleEvent = v.InferOutput<typeof EmqxRuleEvent>;
