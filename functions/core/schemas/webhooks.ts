import * as v from "valibot";
import type { FanoutType } from "../fanout.ts";
import { SECRET_PREFIX, secretKey } from "../webhooks/signature.ts";
import { SerialNumber } from "./common.ts";

/** Every kind of fan-out event, spelled out once more so that a new `FanoutType` fails to compile here. */
const EVERY_TYPE: Record<FanoutType, true> = {
  attendance: true,
  presence: true,
  command_status: true,
  shadow: true,
  job: true,
  gap_opened: true,
  gap_closed: true,
  gap_unrecoverable: true,
  clock_drift: true,
};
export const FANOUT_TYPES = Object.keys(EVERY_TYPE) as FanoutType[];

const MAX_URL_CHARS = 2048;
/** Link-local addresses (cloud instance metadata): never a receiver. */
const LINK_LOCAL_HOST = /^(169\.254\.|\[fe80:|\[fd00:ec2::254\])/i;

/** `new URL()`, or `undefined`: valibot runs a pipe's later checks even after `v.url` failed. */
const parsed = (url: string) => (URL.canParse(url) ? new URL(url) : undefined);

/** Where events are POSTed: http or https only, no credentials in it (the signature authenticates us). */
export const WebhookUrl = v.pipe(
  v.string("url must be a string"),
  v.maxLength(MAX_URL_CHARS, `url must be at most ${MAX_URL_CHARS} characters`),
  v.url("url must be an absolute URL"),
  v.check((url) => /^https?:$/.test(parsed(url)?.protocol ?? "http:"), "url must be http:// or https://"),
  v.check((url) => !parsed(url)?.username && !parsed(url)?.password, "url must not hold a user or password"),
  v.check(
    (url) => !LINK_LOCAL_HOST.test(parsed(url)?.hostname ?? ""),
    "url must not be a link-local address",
  ),
);

export const WebhookSecret = v.pipe(
  v.string("secret must be a string"),
  v.check(
    (secret) => (secretKey(secret)?.length ?? 0) >= 24 && (secretKey(secret)?.length ?? 0) <= 64,
    `secret must be ${SECRET_PREFIX} followed by the base64 of 24 to 64 random bytes`,
  ),
);

/** `POST /v1/webhooks`. */
export const WebhookRequest = v.strictObject(
  {
    url: WebhookUrl,
    types: v.pipe(
      v.array(
        v.picklist(FANOUT_TYPES, `types must hold only ${FANOUT_TYPES.join(", ")}`),
        "types must be an array",
      ),
      v.minLength(1, "types must name at least one kind of event"),
      v.check((types) => new Set(types).size === types.length, "types must not repeat a kind"),
    ),
    sn: v.optional(SerialNumber),
    /** Given by the caller (e.g. one its receiver already has), or generated and shown once. */
    secret: v.optional(WebhookSecret),
  },
  "unknown field; a webhook takes url, types, sn and secret",
);
export type WebhookRequest = v.InferOutput<typeof WebhookRequest>;

/** A subscription id: `wh_` and 16 random bytes, hex. */
export const WebhookId = v.pipe(
  v.string("id must be a string"),
  v.regex(/^wh_[0-9a-f]{32}$/, "id must be wh_ followed by 32 hex digits"),
);
export const WebhookParams = v.object({ id: v.pipe(WebhookId, v.description("webhook subscription id")) });

/** A message on the webhook delivery (retry) queue; see `PendingDelivery`. */
export const PendingDeliveryMessage = v.object({
  subscriptionId: WebhookId,
  eventId: v.string(),
  body: v.string(),
  attempt: v.pipe(v.number(), v.integer(), v.minValue(1)),
  firstAttemptAt: v.string(),
});

/** The fields of a fan-out body the sender filters on; the rest of it is passed on untouched. */
export const FanoutKey = v.looseObject({ type: v.string(), sn: v.string(), eventId: v.string() });
