/**
 * The EMQX side of the bridge: one HTTP connector, one HTTP action and the rules feeding it.
 * Single source of truth for `generated/` (HOCON + REST bodies), `import.ts` and the local EMQX stand-in.
 * Field names and semantics: docs/emqx.md §6 and §7.
 */
import { requestTopic } from "../functions/core/app-requests/request.ts";
import { channelFilter } from "../functions/core/topics.ts";
import { API_URL_PLACEHOLDER, INGEST_TOKEN_PLACEHOLDER, INGEST_URL_PLACEHOLDER } from "./render.ts";

export {
  API_URL_PLACEHOLDER,
  INGEST_TOKEN_PLACEHOLDER,
  INGEST_URL_PLACEHOLDER,
  type RenderValues,
  render,
} from "./render.ts";

/** EMQX duration string, e.g. `"15s"` or `"10m"`. */
export type Duration = `${number}${"ms" | "s" | "m" | "h"}`;
/** EMQX byte-size string, e.g. `"32MB"`. */
export type ByteSize = `${number}${"KB" | "MB" | "GB"}`;

/** `connectors.http.<name>` / body of `POST /api/v5/connectors`. */
export interface HttpConnector {
  type: "http";
  name: string;
  enable: boolean;
  description: string;
  url: string;
  headers: Record<string, string>;
  connect_timeout: Duration;
  pool_type: "random" | "hash";
  pool_size: number;
  enable_pipelining: number;
  ssl: { enable: boolean; verify: "verify_peer" | "verify_none"; cacertfile: string };
  resource_opts: { health_check_interval: Duration; start_timeout: Duration };
}

/** `actions.http.<name>` / body of `POST /api/v5/actions`. `parameters.body` is deliberately absent. */
export interface HttpAction {
  type: "http";
  name: string;
  enable: boolean;
  description: string;
  connector: string;
  parameters: { method: "post"; path: string; headers: Record<string, string> };
  resource_opts: {
    query_mode: "async" | "sync";
    request_ttl: Duration;
    health_check_interval: Duration;
    worker_pool_size: number;
    inflight_window: number;
    max_buffer_bytes: ByteSize;
  };
}

/** `rule_engine.rules.<id>` / body of `POST /api/v5/rules`. */
export interface Rule {
  id: string;
  enable: boolean;
  description: string;
  sql: string;
  actions: string[];
}

/** Everything to create, in the order EMQX needs it (a rule naming a missing action drops its messages). */
export interface Definitions {
  connectors: HttpConnector[];
  actions: HttpAction[];
  rules: Rule[];
}

export const CONNECTOR_NAME = "bridge_ingest";
export const ACTION_NAME = "bridge_ingest";
/** `type:name` id used in REST paths and in a rule's `actions` list. */
export const CONNECTOR_ID = `http:${CONNECTOR_NAME}`;
export const ACTION_ID = `http:${ACTION_NAME}`;
/** Path on the ingest front door that receives every rule's output. */
export const ACTION_PATH = "/emqx/rule-events";

interface RuleSpec {
  id: string;
  description: string;
  /** Topic filters or `$events/...` topics; one rule may mix several. */
  from: readonly string[];
  where?: string;
  /** The action it feeds; default the ingest's. */
  action?: string;
}

// Adding a rule is one entry here. Old-style `$events/client_connected` names are used because they
// work on 5.4 through 6.x (docs/emqx.md §3.6). No rule touches `payload.x`: a non-JSON payload would make
// EMQX drop the message silently (docs/emqx.md §5), whereas the handler can quarantine it.
const RULE_SPECS = {
  attendance: {
    id: "bridge_attendance",
    description: "Device attendance events -> ingest",
    from: [channelFilter("evt")],
  },
  status: {
    id: "bridge_status",
    description: "Device status messages -> ingest",
    from: [channelFilter("st")],
  },
  lifecycle: {
    id: "bridge_lifecycle",
    description: "Client connect/disconnect events -> ingest (presence)",
    from: ["$events/client_connected", "$events/client_disconnected"],
  },
  commandDelivered: {
    id: "bridge_command_delivered",
    description: "A device PUBACKed a command (QoS 1) -> ingest (status delivered)",
    from: ["$events/message_acked"],
    // message_acked fires for every QoS 1 delivery; only command topics matter here.
    where: `topic =~ '${channelFilter("cmd")}'`,
  },
  commandReply: {
    id: "bridge_command_reply",
    description: "A device answered a command on its ack topic -> ingest (status acked/failed)",
    from: [channelFilter("ack")],
  },
  shadowReport: {
    id: "bridge_shadow_report",
    description: "A device reported its state on shadow/update -> ingest (shadow, delta)",
    from: [channelFilter("shadow/update")],
  },
  appRequests: {
    id: "bridge_app_requests",
    description: "An app's request over MQTT -> the API (answered on app/v1/{key}/responses/{requestId})",
    // The payload is read by the API, not here: a malformed request must get an error answer, whereas
    // EMQX would drop it silently (docs/emqx.md §5).
    from: [requestTopic("+")],
    action: "http:bridge_app_requests",
  },
} as const satisfies Record<string, RuleSpec>;

export type RuleKey = keyof typeof RULE_SPECS;
export type RuleId = (typeof RULE_SPECS)[RuleKey]["id"];

/** Rule ids by purpose; the ingest handler sees them as `metadata.rule_id`. */
export const RULE_ID = Object.fromEntries(
  Object.entries(RULE_SPECS).map(([key, spec]) => [key, spec.id]),
) as { readonly [K in RuleKey]: (typeof RULE_SPECS)[K]["id"] };

export const RULE_IDS: readonly RuleId[] = Object.values(RULE_ID);

/** `SELECT *` so EMQX posts the whole event (body unset), optionally filtered by `where`. */
export function ruleSql(spec: Pick<RuleSpec, "from" | "where">): string {
  const from = spec.from.map((topic) => `"${topic}"`).join(", ");
  return spec.where ? `SELECT * FROM ${from} WHERE ${spec.where}` : `SELECT * FROM ${from}`;
}

function toRule(spec: RuleSpec): Rule {
  return {
    id: spec.id,
    enable: true,
    description: spec.description,
    sql: ruleSql(spec),
    actions: [spec.action ?? ACTION_ID],
  };
}

export const CONNECTOR: HttpConnector = {
  type: "http",
  name: CONNECTOR_NAME,
  enable: true,
  description: "Ingest front door (Hono on Lambda)",
  url: INGEST_URL_PLACEHOLDER,
  // Setting headers replaces EMQX's defaults, so content-type is repeated; authorization is stored as
  // a secret by EMQX and redacted in its logs.
  headers: { "content-type": "application/json", authorization: `Bearer ${INGEST_TOKEN_PLACEHOLDER}` },
  // Generous for a TLS handshake to an AWS front door; a connect timeout is retried anyway.
  connect_timeout: "15s",
  // Handlers do not depend on order (natural keys, connected_at), so spread load instead of hashing.
  pool_type: "random",
  // With pipelining off this is the per-node concurrency cap: ~32 / 0.1 s = ~320 req/s per node,
  // and a bound on the Lambda concurrency one node can claim.
  pool_size: 32,
  // Lambda front doors answer one request per connection at a time; pipelining would only put
  // requests behind a slow (cold) invocation.
  enable_pipelining: 1,
  // Only used for https:// URLs. verify_none is EMQX's default and would send the bearer token to
  // anyone in the path; the official image ships Debian's CA bundle at this path.
  ssl: { enable: true, verify: "verify_peer", cacertfile: "/etc/ssl/certs/ca-certificates.crt" },
  // The health check only tests that a connection is up; 15 s notices a recovered front door quickly.
  resource_opts: { health_check_interval: "15s", start_timeout: "5s" },
};

export const ACTION: HttpAction = {
  type: "http",
  name: ACTION_NAME,
  enable: true,
  description: "POST every rule's SELECT result to the ingest handler",
  connector: CONNECTOR_NAME,
  // No body: EMQX then sends the whole SELECT result as JSON, escaped correctly (templates are not).
  parameters: { method: "post", path: ACTION_PATH, headers: { "content-type": "application/json" } },
  resource_opts: {
    // Sync would tie up a buffer worker for each round trip to Lambda.
    query_mode: "async",
    // How long a message may wait for delivery: it must exceed health_check_interval (issue #18948)
    // and covers a multi-minute ingest outage. On >= 5.8.9 it is also the HTTP timeout, which is
    // harmless because the handler answers within ~10 s.
    request_ttl: "10m",
    // Retry cadence while blocked: resume_interval = min(15 s, request_ttl / 3) = 15 s, so delivery
    // restarts at most 15 s after the outage ends without hammering a recovering front door.
    health_check_interval: "15s",
    // Messages of one client stay on one worker; 16 spreads clients so one blocked worker stalls few.
    worker_pool_size: 16,
    // Enough in flight to keep 32 connections busy; the reordering it allows is fine for the handlers.
    inflight_window: 100,
    // Per worker: 16 x 32 MB = 512 MB per node at most, ~500k messages of ~1 KB, i.e. ~870 msg/s per
    // node for the whole 10 min TTL. EMQX's 256 MB default would allow 4 GB per node.
    max_buffer_bytes: "32MB",
  },
};

export const API_CONNECTOR_NAME = "bridge_api";
export const API_ACTION_NAME = "bridge_app_requests";
/** Path on the API front door that receives the requests rule's output. */
export const API_ACTION_PATH = "/emqx/app-requests";

/**
 * The API over MQTT: the API front door, with EMQX's token (the ingest's), never an app's key. The same
 * settings as the ingest's connector, fewer connections: a request is one API call.
 */
export const API_CONNECTOR: HttpConnector = {
  ...CONNECTOR,
  name: API_CONNECTOR_NAME,
  description: "API front door (Hono on Lambda): apps' requests over MQTT",
  url: API_URL_PLACEHOLDER,
  pool_size: 16,
};

export const API_ACTION: HttpAction = {
  ...ACTION,
  name: API_ACTION_NAME,
  description: "POST each app request (SELECT * of app/v1/+/requests) to the API",
  connector: API_CONNECTOR_NAME,
  parameters: { ...ACTION.parameters, path: API_ACTION_PATH },
  resource_opts: {
    ...ACTION.resource_opts,
    // An app waits for its answer: a request the API could not take within a minute is dropped rather than
    // run long after the app gave up (a retry with the same requestId is safe). Above the 15 s
    // health_check_interval, as issue #18948 requires; resume_interval = min(15 s, 20 s).
    request_ttl: "1m",
    max_buffer_bytes: "8MB",
  },
};

/** All definitions, connectors before actions before rules. */
export const DEFINITIONS: Definitions = {
  connectors: [CONNECTOR, API_CONNECTOR],
  actions: [ACTION, API_ACTION],
  rules: Object.values(RULE_SPECS).map(toRule),
};

/** The definitions without the API over MQTT: what an import given no API URL creates. */
export function withoutApiRequests(definitions: Definitions): Definitions {
  const actions = definitions.actions.filter((action) => action.connector !== API_CONNECTOR_NAME);
  const kept = new Set(actions.map((action) => `http:${action.name}`));
  return {
    connectors: definitions.connectors.filter((connector) => connector.name !== API_CONNECTOR_NAME),
    actions,
    rules: definitions.rules.filter((rule) => rule.actions.every((id) => kept.has(id))),
  };
}
