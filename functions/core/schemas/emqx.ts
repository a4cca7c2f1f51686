import * as v from "valibot";
import { EmqxOptionalString } from "./common.ts";
import { wellFormedText } from "./storable.ts";

const Metadata = v.optional(v.looseObject({ rule_id: v.optional(v.string()) }));

/** The last millisecond of year 9999: later instants need a 6-digit ISO year, and `Date` ends at 8.64e15. */
export const MAX_EPOCH_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** EMQX times are whole epoch milliseconds (docs/emqx.md §3.1); anything else is refused, naming the field. */
const Millis = (field: string) =>
  v.pipe(
    v.number(`${field} must be a number of milliseconds`),
    v.safeInteger(`${field} must be whole milliseconds`),
    v.minValue(0, `${field} must not be before 1970`),
    v.maxValue(MAX_EPOCH_MS, `${field} must not be after the year 9999`),
  );

/** EMQX's message id: 32 hex characters. */
const MessageId = v.pipe(
  v.string("id must be a string"),
  v.regex(/^[0-9A-Fa-f]{32}$/, "id must be 32 hex characters"),
);

/** The client that published, or whose connection changed. */
const ClientEntries = { clientid: v.string("clientid must be a string"), username: EmqxOptionalString };

/** What every rule event may end with. */
const TrailingEntries = { timestamp: v.optional(Millis("timestamp")), metadata: Metadata };

/** Body of a `message.publish` rule event (docs/emqx.md §3.2); unknown keys are accepted. */
export const EmqxMessagePublish = v.looseObject({
  event: v.literal("message.publish"),
  id: MessageId,
  ...ClientEntries,
  payload: v.string("payload must be a string"),
  topic: v.string("topic must be a string"),
  qos: v.optional(v.picklist([0, 1, 2], "qos must be 0, 1 or 2")),
  peerhost: EmqxOptionalString,
  publish_received_at: Millis("publish_received_at"),
  ...TrailingEntries,
});
export type EmqxMessagePublish = v.InferOutput<typeof EmqxMessagePublish>;

/** Body of a `client.connected` rule event (docs/emqx.md §3.3). */
export const EmqxClientConnected = v.looseObject({
  event: v.literal("client.connected"),
  ...ClientEntries,
  connected_at: Millis("connected_at"),
  clean_start: v.optional(v.boolean()),
  ...TrailingEntries,
});
export type EmqxClientConnected = v.InferOutput<typeof EmqxClientConnected>;

/**
 * Body of a `client.disconnected` rule event (docs/emqx.md §3.3); `reason` is an open set.
 * EMQX sends `connected_at` with it only from 5.8.6 on (docs/emqx.md §3.3), so it may be absent.
 */
export const EmqxClientDisconnected = v.looseObject({
  event: v.literal("client.disconnected"),
  ...ClientEntries,
  reason: v.string("reason must be a string"),
  connected_at: v.optional(Millis("connected_at")),
  disconnected_at: Millis("disconnected_at"),
  ...TrailingEntries,
});
export type EmqxClientDisconnected = v.InferOutput<typeof EmqxClientDisconnected>;

/** Body of a `message.acked` rule event: a subscriber PUBACKed a QoS 1 message (docs/emqx.md §3.4). */
export const EmqxMessageAcked = v.looseObject({
  event: v.literal("message.acked"),
  id: MessageId,
  clientid: v.string("clientid must be a string"),
  from_clientid: v.optional(v.string()),
  topic: v.string("topic must be a string"),
  payload: v.string("payload must be a string"),
  pub_props: v.optional(v.looseObject({ "User-Property": v.optional(v.record(v.string(), v.unknown())) })),
  ...TrailingEntries,
});
export type EmqxMessageAcked = v.InferOutput<typeof EmqxMessageAcked>;

const RULE_EVENT_BODIES = [
  EmqxMessagePublish,
  EmqxMessageAcked,
  EmqxClientConnected,
  EmqxClientDisconnected,
] as const;

/** The `event` names a bridge rule may POST, read from the bodies' own `event` literals. */
export const EMQX_RULE_EVENTS = RULE_EVENT_BODIES.map((body) => body.entries.event.literal);

/** Everything a bridge rule may POST, told apart by `event`; no string may hold a lone surrogate. */
export const EmqxRuleEvent = v.pipe(
  // Before `variant`, whose message for `1` or `null` would be about `event`.
  v.looseObject({}, "must be a JSON object"),
  v.variant("event", RULE_EVENT_BODIES, `event must be one of ${EMQX_RULE_EVENTS.join(", ")}`),
  wellFormedText(),
);
export type EmqxRuleEvent = v.InferOutput<typeof EmqxRuleEvent>;
