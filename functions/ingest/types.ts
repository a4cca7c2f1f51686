import type { Logger } from "@aws-lambda-powertools/logger";
import type { ApiKeyStore } from "../core/api-keys.ts";
import type { AttendanceDeps } from "../core/attendance.ts";
import type { DeviceRegistry, RegistrationPolicy } from "../core/broker-access/index.ts";
import type { RequeueDeps } from "../core/commands/requeue-pending.ts";
import type { DeviceReportSink } from "../core/gaps/ports.ts";
import type { BridgeMetrics } from "../core/metrics.ts";
import type { QuarantineStore } from "../core/ports.ts";
import type { PresenceDeps } from "../core/record-presence.ts";
import type { ShadowStore } from "../core/shadow/ports.ts";
import type { LambdaBindings } from "../http/deadline.ts";

/** Everything the ingest needs from the outside world; the Lambda and the local stack pass different clients. */
export type IngestDeps = AttendanceDeps &
  PresenceDeps &
  RequeueDeps & {
    quarantine: QuarantineStore;
    /** Who may log in: devices' enabled flag and credential generation. */
    devices: DeviceRegistry;
    /** API keys, for applications that log in to the broker. */
    apiKeys: ApiKeyStore;
    /** Device shadows (reports over MQTT and HTTP); unset: shadow messages are answered 503. */
    shadows?: ShadowStore;
    /** The gap tracker's queue for heartbeats' `last_seq` / `device_time`; unset: not passed on. */
    reports?: DeviceReportSink;
  };

export interface IngestOptions {
  /** Business metrics (EMF on Lambda); a no-op when absent. */
  metrics?: BridgeMetrics;
  /** EMQX's valid bearer tokens (on `/emqx/*` only); more than one while a token is being rotated. */
  tokens: string[];
  /**
   * Secrets HTTP devices' tokens are derived from (see `functions/core/device-token.ts`); more than one
   * while a secret is being rotated. Empty: the `/v1/devices/*` routes answer 404.
   */
  deviceTokenSecrets: string[];
  deadlineMs: number;
  /** Broker logins and HTTP devices: whether devices must be registered first (default `open`). */
  registration?: RegistrationPolicy;
  /** An MQTT session's longest life, in seconds (default one day). */
  sessionLifetimeSeconds?: number;
  maxBodyBytes: number;
  logger: Logger;
}

/** Hono's environment of the ingest app: on Lambda, the invocation's context (for its remaining time). */
export type IngestEnv = { Bindings: LambdaBindings };

/** What a processed message came to; the body of a 200. */
export type IngestResult =
  | { result: "attendance"; sn: string; stored: number; duplicates: number; rejected: RecordRejection[] }
  | { result: "presence"; sn: string; online?: boolean; since?: string }
  | { result: "command"; sn: string; id: string; status?: string; changed: boolean }
  | { result: "shadow"; sn: string; version: number; changed: boolean; state: Record<string, unknown> }
  | { result: "ignored"; reason: string };

export interface RecordRejection {
  index: number;
  field: string;
  /** `invalid_attendance_record`, or `refused_by_store` / `refused_by_queue` for a valid one refused later. */
  reason: string;
  message: string;
  quarantineId: string;
}
