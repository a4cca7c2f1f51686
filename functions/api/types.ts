import type { Logger } from "@aws-lambda-powertools/logger";
import type { JobPorts } from "../adapters/job-deps.ts";
import type { ApiKeyStore } from "../core/api-keys.ts";
import type { BrokerSessions, DeviceRegistry } from "../core/broker-access/index.ts";
import type { CreateCommandDeps } from "../core/commands/create-command.ts";
import type { DeviceTransportStore } from "../core/device-transport.ts";
import type { AttendanceReader, DeviceReader, QuarantineReader } from "../core/queries.ts";
import type { ShadowStore } from "../core/shadow/ports.ts";
import type { WebhookStore } from "../core/webhooks/subscription.ts";
import type { ApiKeyBindings, ApiKeyVariables } from "../http/api-key-auth.ts";
import type { LambdaBindings } from "../http/deadline.ts";
import type { AppRequestsDeps } from "./mqtt-requests/route.ts";

/**
 * What the API needs from the outside world: the command path (`createCommand`'s ports), readers for
 * attendance, devices and the quarantine, and the API key store. `createApiDeps(config)` wires them on AWS.
 */
export type ApiDeps = CreateCommandDeps & {
  keys: ApiKeyStore;
  reader: AttendanceReader & DeviceReader & QuarantineReader;
  /** Devices' identities: shown next to presence, revoked, re-enabled and re-keyed by operators. */
  devices: DeviceRegistry;
  /** EMQX's sessions and caches, to kick a revoked device; unset: nothing is kicked, and answers say so. */
  sessions?: BrokerSessions;
  /** The ingest's device token secrets; the first derives re-keyed tokens. Unset: re-keying answers 503. */
  deviceTokenSecrets?: readonly string[];
  /** Device shadows; unset: the shadow routes answer 503. */
  shadows?: ShadowStore;
  /** Devices' command transport (`mqtt`/`http`); unset: the transport routes answer 503. */
  transports?: DeviceTransportStore;
  /** Webhook subscriptions (`/v1/webhooks`); unset: those routes answer 503. */
  webhooks?: WebhookStore;
  /** The API over MQTT (EMQX's requests rule, answers through EMQX's publish API); unset: not served. */
  appRequests?: AppRequestsDeps;
} & Partial<JobPorts>;

export interface ApiOptions {
  logger: Logger;
  /** Answer 503 after this long (default 8000 ms), and always 1 s before Lambda's own timeout. */
  deadlineMs?: number;
  /** The broker's MQTT-over-WebSocket URL the live page (`/v1/live`) connects to (`LIVE_BROKER_WS_URL`). */
  liveBrokerWsUrl?: string | undefined;
}

export type ApiEnv = {
  Bindings: LambdaBindings & ApiKeyBindings;
  Variables: ApiKeyVariables;
};
