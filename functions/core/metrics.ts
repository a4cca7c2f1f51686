/**
 * Business metrics: a small port the core and the apps count through, so they never see CloudWatch.
 * On Lambda it is Powertools Metrics (EMF, `functions/adapters/metrics.ts`); elsewhere a no-op.
 * The names here are also what the CDK alarms and dashboard read (`infra/lib/observability.ts`).
 */
export interface BridgeMetrics {
  /** Adds `value` (default 1) to the count `name`, with optional dimensions (keep their values few). */
  count(name: MetricName, value?: number, dimensions?: Record<string, string>): void;
  /** Writes what was counted since the last flush; call once at the end of every invocation. */
  flush(): void;
}

/** CloudWatch namespace of every bridge metric. */
export const METRICS_NAMESPACE = "EmqxBridge";

/** One `service` dimension per function (Powertools adds it to every metric; the alarms match on it). */
export const METRICS_SERVICE = {
  ingest: "bridge-ingest",
  api: "bridge-api",
  publisher: "bridge-publisher",
} as const;
export type MetricsService = (typeof METRICS_SERVICE)[keyof typeof METRICS_SERVICE];

export const METRIC = {
  /** Punches already stored (device resend, EMQX retry), counted by the ingest. */
  Duplicates: "Duplicates",
  /** Rejections written to the quarantine (4xx answers), counted by the ingest. */
  Quarantined: "Quarantined",
  /** 503 answers (DynamoDB/SQS unavailable, deadline passed): EMQX retries them. */
  Unavailable503: "Unavailable503",
  /** Command status changes, dimension `status` (a `CommandStatus`), counted by whoever moves it. */
  CommandsByStatus: "CommandsByStatus",
  /** Commands per EMQX publish outcome, dimension `result` (`PublishResult`), counted by the publisher. */
  EmqxPublishResults: "EmqxPublishResults",
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/**
 * Values of the `result` dimension of `EmqxPublishResults`; `failed` and `retry` raise an alarm.
 * - `sent`: EMQX took it (200).
 * - `pending`: 202 `no_matching_subscribers`, `pending` until the device is online.
 * - `failed`: EMQX refused it (400, other reason codes).
 * - `retry`: EMQX down, 5xx, timeout, 401/403, `failed_to_dispatch`: the message comes back from SQS.
 */
export const PUBLISH_RESULT = { sent: "sent", pending: "pending", failed: "failed", retry: "retry" } as const;
export type PublishResult = (typeof PUBLISH_RESULT)[keyof typeof PUBLISH_RESULT];

/** For tests and local runs. */
export const noopMetrics: BridgeMetrics = {
  count() {},
  flush() {},
};
