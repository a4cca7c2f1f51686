import * as v from "valibot";
import { DEFAULT_SESSION_LIFETIME_S } from "../core/broker-access/types.ts";

const Integer = (fallback: number) =>
  v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number)),
    String(fallback),
  );
/** A comma-separated list (blanks dropped) whose every item is at least `minChars` long. */
const CommaList = (minChars: number, noun: string) =>
  v.pipe(
    v.string(),
    v.transform((value) =>
      value
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean),
    ),
    v.check(
      (items) => items.every((item) => item.length >= minChars),
      `every ${noun} must be at least ${minChars} characters`,
    ),
  );
const TokenList = v.pipe(CommaList(16, "token"), v.minLength(1, "must hold at least one token"));

const Url = v.pipe(v.string("is required"), v.url("must be a URL"));

/** What every function needs: where the table and queues are. */
const BaseEntries = {
  TABLE_NAME: v.pipe(v.string("is required"), v.minLength(1)),
  EVENTS_QUEUE_URL: Url,
  /**
   * The SNS FIFO topic the events are published to (the events, feed and webhooks queues subscribe to it
   * with raw delivery). Unset: the events go straight to EVENTS_QUEUE_URL, as before the feed.
   */
  EVENTS_TOPIC_ARN: v.optional(v.pipe(v.string(), v.regex(/^arn:[\w-]+:sns:/, "must be an SNS topic ARN"))),
  /**
   * The commands queue's subscription to the events topic's `queued` announcements; set, creating a
   * command announces it only (the announcement is its queue message), unset, it also enqueues it.
   */
  COMMANDS_SUBSCRIPTION_ARN: v.optional(
    v.pipe(v.string(), v.regex(/^arn:[\w-]+:sns:/, "must be an SNS subscription ARN")),
  ),
  COMMANDS_QUEUE_URL: Url,
  /** The jobs queue (standard SQS): the API starts jobs on it, the jobs worker consumes it. */
  JOBS_QUEUE_URL: v.optional(Url),
  AWS_REGION: v.optional(v.string(), "us-east-1"),
  DYNAMODB_ENDPOINT: v.optional(v.pipe(v.string(), v.url())),
  SQS_ENDPOINT: v.optional(v.pipe(v.string(), v.url())),
  SNS_ENDPOINT: v.optional(v.pipe(v.string(), v.url())),
};
export const BaseConfig = v.object(BaseEntries);
export type BaseConfig = v.InferOutput<typeof BaseConfig>;

/** The ingest function's settings, all from environment variables. */
export const IngestConfig = v.object({
  ...BaseEntries,
  /** Comma-separated bearer tokens; several at once so one can be rotated without downtime. */
  INGEST_TOKENS: v.pipe(v.string("is required"), TokenList),
  /** Answer 503 after this long, well before the function's own timeout. */
  INGEST_DEADLINE_MS: Integer(8_000),
  MAX_BODY_BYTES: Integer(256 * 1024),
  QUARANTINE_RETENTION_DAYS: Integer(30),
  /** Comma-separated secrets HTTP devices' tokens are derived from; empty = HTTP devices disabled. */
  DEVICE_TOKEN_SECRETS: v.optional(CommaList(32, "secret"), ""),
  /** `open`: a valid derived token registers its device on first login; `required`: an operator must first. */
  DEVICE_REGISTRATION: v.optional(v.picklist(["open", "required"]), "open"),
  /** How long an MQTT session may live before EMQX disconnects it and it logs in again (its ACL is re-read). */
  BROKER_SESSION_LIFETIME_S: Integer(DEFAULT_SESSION_LIFETIME_S),
  /** The gap tracker's reports queue: heartbeats' `last_seq`/`device_time` go there; unset: not sent. */
  GAPS_QUEUE_URL: v.optional(Url),
});
export type IngestConfig = v.InferOutput<typeof IngestConfig>;

/** The API function's settings. */
export const ApiConfig = v.object({
  ...BaseEntries,
  /**
   * Optional bootstrap keys (comma-separated, scope `admin`), e.g. from a secret, to create the first
   * stored keys with; day-to-day keys live hashed in the table (`npm run api-key`).
   */
  API_KEYS: v.optional(CommaList(16, "key"), ""),
  /**
   * The ingest's secrets (the same secret): the first derives the token `POST /v1/devices/{sn}/credentials`
   * hands out. Unset: that route answers 503.
   */
  DEVICE_TOKEN_SECRETS: v.optional(IngestConfig.entries.DEVICE_TOKEN_SECRETS.wrapped),
  /**
   * EMQX's management API, to kick a revoked or re-keyed device's session and clear EMQX's caches, e.g.
   * `https://emqx.example.com:18084/api/v5`. On 5.9+ the key needs the administrator role. Unset: the
   * registry change is stored and the answer says the session was not kicked.
   */
  EMQX_API_URL: v.optional(Url),
  EMQX_API_KEY: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
  EMQX_API_SECRET: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"))),
  /**
   * The ingest's bearer tokens, which EMQX's connectors send: with them and the EMQX API above, the API
   * serves the API over MQTT (`POST /emqx/app-requests`, answers through EMQX's publish API). Unset: not served.
   */
  INGEST_TOKENS: v.optional(v.pipe(v.string(), TokenList)),
  /**
   * The broker's MQTT-over-WebSocket URL the live fleet page (`/v1/live`) connects to, e.g.
   * `wss://emqx.example.com:8084/mqtt`; its Content-Security-Policy allows that broker only. Unset: the
   * operator types one in the page, which then warns.
   */
  LIVE_BROKER_WS_URL: v.optional(
    v.pipe(v.string(), v.regex(/^wss?:\/\/[^\s?#]+$/, "must be a ws:// or wss:// URL")),
  ),
});
export type ApiConfig = v.InferOutput<typeof ApiConfig>;

/** The publisher function's settings: EMQX's management API and an API key allowed to publish. */
export const PublisherConfig = v.object({
  ...BaseEntries,
  /** e.g. `https://emqx.example.com:18083/api/v5` */
  EMQX_API_URL: Url,
  EMQX_API_KEY: v.pipe(v.string("is required"), v.minLength(1, "is required")),
  EMQX_API_SECRET: v.pipe(v.string("is required"), v.minLength(1, "is required")),
  EMQX_TIMEOUT_MS: Integer(5_000),
});
export type PublisherConfig = v.InferOutput<typeof PublisherConfig>;

/** Reads a config schema from `env`, failing with every bad variable named (values are never echoed). */
export function readConfig<S extends v.GenericSchema>(schema: S, env: Record<string, string | undefined>) {
  const result = v.safeParse(schema, env);
  if (result.success) return result.output as v.InferOutput<S>;
  const problems = result.issues.map((issue) => `${v.getDotPath(issue) ?? "?"} ${issue.message}`);
  throw new Error(`invalid configuration: ${problems.join("; ")}`);
}
