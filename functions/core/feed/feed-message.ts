import * as v from "valibot";
import { FEED_ROOT } from "../broker-access/acl.ts";
import type { PublishRequest } from "../commands/ports.ts";
import type { FanoutType } from "../fanout.ts";
import { SerialNumber } from "../schemas/common.ts";

/**
 * Types whose latest message is the device's current state: published retained, so an app subscribing
 * `fleet/v1/+/presence` gets every device's state at once. Everything else is a stream of facts.
 */
export const RETAINED_TYPES: ReadonlySet<FanoutType> = new Set<FanoutType>(["presence", "shadow"]);

/**
 * What the feed needs from an events message: where to publish it. The body itself is passed on as is
 * (the exact bytes the events queue got), so the schema is loose.
 */
const FeedEnvelope = v.looseObject({
  type: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]{0,63}$/, "type must be a topic-safe word")),
  eventId: v.pipe(v.string(), v.minLength(1)),
  sn: SerialNumber,
});

/** One message of the feed queue, as the publisher received it. */
export interface FeedItem {
  /** The queue message's id: what a partial batch failure names. */
  messageId: string;
  /** The events message, exactly as on the events queue. */
  body: string;
}

export interface FeedMessage {
  messageId: string;
  sn: string;
  eventId: string;
  request: PublishRequest;
}

/** `fleet/v1/{sn}/{type}` */
export const feedTopic = (sn: string, type: string) => `${FEED_ROOT}/${sn}/${type}`;

/** The publish request for one queue message, or `undefined` when the bridge could not have written it. */
export function toFeedMessage(item: FeedItem): FeedMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(item.body);
  } catch {
    return undefined;
  }
  const result = v.safeParse(FeedEnvelope, parsed);
  if (!result.success) return undefined;
  const { sn, type, eventId } = result.output;
  return {
    messageId: item.messageId,
    sn,
    eventId,
    request: {
      topic: feedTopic(sn, type),
      payload: item.body,
      qos: 1,
      retain: RETAINED_TYPES.has(type as FanoutType),
      // MQTT 5 apps can drop repeats without parsing the body; MQTT 3.1.1 apps read it from the body.
      properties: { user_properties: { eventId } },
    },
  };
}
