/**
 * The EMQX stand-in for the local stack and tests (docs/emqx.md): it loads the rule files from
 * `emqx-rules/generated/`, turns what happens on an aedes broker into EMQX rule events, POSTs them with EMQX's
 * retry rules, and serves the management API's publish and client endpoints. Production uses real EMQX.
 */
import type { Aedes } from "aedes";
import { type RunningHttpServer, serveApp } from "../services/http-server.ts";
import { connectedClients, subscriptionsOf } from "./aedes-internals.ts";
import { createApiApp } from "./api.ts";
import {
  clientConnectedEvent,
  clientDisconnectedEvent,
  deliveryEvent,
  messagePublishEvent,
} from "./bodies.ts";
import { type BrokerSink, observeBroker } from "./broker-observer.ts";
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
  /** Management API; port 0 picks a free port. Without it no API is served. */
  api?: { host?: string; port: number; key: string; secret: string };
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
  const observer = observeBroker(options.broker, brokerSink(engine, sessions));
  const publisher = new ApiPublisher(options.broker, observer);
  let server: RunningHttpServer | undefined;
  try {
    server = options.api ? await serveApi(options.api, options.broker, publisher, sessions) : undefined;
  } catch (error) {
    observer.stop();
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
      await server?.stop();
      await delivery.stop();
    },
  };
}

/** Broker happenings to rule events; delivery events are built only when a rule listens to them. */
function brokerSink(engine: RuleEngine, sessions: Sessions): BrokerSink {
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

function serveApi(
  api: NonNullable<EmqxStandInOptions["api"]>,
  broker: Aedes,
  publisher: ApiPublisher,
  sessions: Sessions,
): Promise<RunningHttpServer> {
  const subscriptionsCount = (clientid: string) => {
    const client = connectedClients(broker).find((c) => c.id === clientid);
    return client ? subscriptionsOf(client).length : 0;
  };
  const app = createApiApp({ key: api.key, secret: api.secret, publisher, sessions, subscriptionsCount });
  return serveApp(app.fetch, { host: api.host ?? "127.0.0.1", port: api.port });
}
