/**
 * The EMQX stand-in for the local stack and tests (docs/emqx.md): it loads the rule files from
 * `emqx-rules/generated/`, turns what happens on an aedes broker into EMQX rule events, POSTs them with EMQX's
 * retry rules, serves the management API's publish and client endpoints and, when asked, authenticates and
 * authorizes clients as the shipped access configuration tells EMQX to. Production uses real EMQX.
 */
import type { Aedes, Client } from "aedes";
import { type RunningHttpServer, serveApp } from "../services/http-server.ts";
import { loadAccessConfig } from "./access-config.ts";
import { AccessControl } from "./access-control.ts";
import { connectedClients, subscriptionsOf } from "./aedes-internals.ts";
import { createApiApp } from "./api.ts";
import {
  clientConnectedEvent,
  clientDisconnectedEvent,
  deliveryEvent,
  messagePublishEvent,
} from "./bodies.ts";
import { type BrokerObserver, type BrokerSink, observeBroker } from "./broker-observer.ts";
import { loadRules, type Timing } from "./definitions.ts";
import { HttpDelivery } from "./http-action.ts";
import { ApiPublisher } from "./publish.ts";
import { RuleEngine } from "./rule-engine.ts";
import { Sessions } from "./sessions.ts";
import type { Metrics } from "./types.ts";

export { UnsupportedSqlError } from "./sql.ts";
export type { Metrics } from "./types.ts";

export interface EmqxStandInOptions {
  /** The running aedes broker (started by the caller, which also stops it). */
  broker: Aedes;
  /** Folder with connectors.json, actions.json and rules.json. */
  rulesDir: string;
  /** Replaces `{{INGEST_URL}}`, e.g. `http://127.0.0.1:3000`. */
  ingestUrl: string;
  /** Replaces `{{INGEST_TOKEN}}`. */
  ingestToken: string;
  /** Replaces `{{API_URL}}` (the API over MQTT's connector); without it that connector and its rule are left out. */
  apiUrl?: string;
  /** Management API; port 0 picks a free port. Without it no API is served. */
  api?: { host?: string; port: number; key: string; secret: string };
  /**
   * Authentication and authorization from `authentication.json`, `authorization-settings.json` and
   * `authorization-sources.json` in `dir` (default `rulesDir`), the authenticator's URL and bearer token
   * filled like the rules'. Without it every client may connect and do anything (EMQX with no authenticator
   * and the default `{allow, all}`). `requestTimeoutMs` overrides `request_timeout` (tests).
   */
  access?: { dir?: string; requestTimeoutMs?: number };
  /**
   * Drops a publish the broker already acked before any rule sees it, as an overflowing EMQX buffer drops
   * queued requests (`dropped.queue_full`, docs/emqx.md): the device will not send it again (soak --lose).
   */
  dropPublish?: (topic: string, payload: Buffer) => boolean;
  /** Overrides the actions' `request_ttl` and the derived resume interval, adds latency (tests). */
  timing?: Timing;
  /** One line per failed, retried or dropped delivery; defaults to console.warn. */
  log?: (line: string) => void;
}

export interface EmqxStandIn {
  /** Base URL of the management API, e.g. `http://127.0.0.1:18083/api/v5`, when `api` was given. */
  apiUrl?: string;
  metrics(): Metrics;
  /** Resolves once nothing is buffered or in flight. */
  idle(): Promise<void>;
  /** Makes every publish answer 503 `failed_to_dispatch` (a broker that cannot dispatch); `null` heals it. */
  setPublishFailure(status: 503 | null): void;
  /** Stops observing the broker, closes the API and drops undelivered requests (EMQX buffers are volatile). */
  stop(): Promise<void>;
}

/** Starts the stand-in; throws before touching the broker when a rule file is missing or unsupported. */
export async function startEmqxStandIn(options: EmqxStandInOptions): Promise<EmqxStandIn> {
  const log = options.log ?? ((line: string) => console.warn(line));
  const rules = await loadRules({ ...options, log });
  const delivery = new HttpDelivery(log);
  const engine = new RuleEngine(rules, delivery);
  const sessions = new Sessions();
  // Installed before the observer, so that the observer only sees the publishes access control let through.
  const access = await startAccessControl(options, log, (client, reason) =>
    observer.disconnect(client, reason),
  );
  const observer = observeBroker(options.broker, brokerSink(engine, sessions, options.dropPublish));
  const publisher = new ApiPublisher(options.broker, observer);
  const kick = (clientid: string) => kickClient(options.broker, observer, sessions, clientid);
  let server: RunningHttpServer | undefined;
  try {
    server = options.api ? await serveApi(options.api, options.broker, publisher, sessions, kick) : undefined;
  } catch (error) {
    observer.stop();
    access?.stop();
    throw error;
  }
  return {
    ...(server ? { apiUrl: `${server.url}/api/v5` } : {}),
    metrics: () => ({ matched: engine.matched, ...delivery.metrics() }),
    idle: () => delivery.idle(),
    setPublishFailure(status) {
      publisher.failure = status;
    },
    async stop() {
      observer.stop();
      access?.stop();
      await server?.stop();
      await delivery.stop();
    },
  };
}

/** Broker happenings to rule events; delivery events are built only when a rule listens to them. */
function brokerSink(
  engine: RuleEngine,
  sessions: Sessions,
  dropPublish: EmqxStandInOptions["dropPublish"] = () => false,
): BrokerSink {
  return {
    connected(connection) {
      sessions.connected(connection);
      engine.run(clientConnectedEvent(connection));
    },
    disconnected(connection, reason, disconnectedAt) {
      sessions.disconnected(connection, disconnectedAt);
      engine.run(clientDisconnectedEvent(connection, reason, disconnectedAt));
    },
    published(message) {
      if (dropPublish(message.topic, message.payload)) return;
      engine.run(messagePublishEvent(message));
    },
    delivered(message, subscriber, qos) {
      if (!engine.wants("$events/message_delivered")) return;
      engine.run(deliveryEvent("message.delivered", message, subscriber, qos));
    },
    acked(message, subscriber, qos) {
      if (!engine.wants("$events/message_acked")) return;
      engine.run(deliveryEvent("message.acked", message, subscriber, qos));
    },
  };
}

async function startAccessControl(
  options: EmqxStandInOptions,
  log: (line: string) => void,
  disconnect: (client: Client, reason: string) => void,
): Promise<AccessControl | undefined> {
  if (!options.access) return undefined;
  const config = await loadAccessConfig({
    dir: options.access.dir ?? options.rulesDir,
    ingestUrl: options.ingestUrl,
    ingestToken: options.ingestToken,
  });
  return new AccessControl(options.broker, config, { disconnect, log }, options.access.requestTimeoutMs);
}

/** `DELETE /api/v5/clients/{clientid}`: EMQX's `kicked` disconnect, or the end of a kept session. */
function kickClient(broker: Aedes, observer: BrokerObserver, sessions: Sessions, clientid: string): boolean {
  const client = connectedClients(broker).find((c) => c.id === clientid);
  if (!client) return sessions.discard(clientid);
  observer.disconnect(client, "kicked");
  return true;
}

function serveApi(
  api: NonNullable<EmqxStandInOptions["api"]>,
  broker: Aedes,
  publisher: ApiPublisher,
  sessions: Sessions,
  kick: (clientid: string) => boolean,
): Promise<RunningHttpServer> {
  const subscriptionsCount = (clientid: string) => {
    const client = connectedClients(broker).find((c) => c.id === clientid);
    return client ? subscriptionsOf(client).length : 0;
  };
  const app = createApiApp({
    key: api.key,
    secret: api.secret,
    publisher,
    sessions,
    subscriptionsCount,
    kick,
  });
  return serveApp(app.fetch, { host: api.host ?? "127.0.0.1", port: api.port });
}
