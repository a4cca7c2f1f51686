/**
 * Loads `connectors.json`, `actions.json` and `rules.json` (EMQX REST bodies, docs/emqx.md §9.3) and turns
 * them into rules with resolved HTTP actions. Errors that EMQX would only log at runtime fail here, at start.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as v from "valibot";
import {
  API_URL_PLACEHOLDER,
  INGEST_TOKEN_PLACEHOLDER,
  INGEST_URL_PLACEHOLDER,
} from "../../emqx-rules/render.ts";
import { type CompiledSql, compileSql } from "./sql.ts";
import type { Log } from "./types.ts";

/** Where an action POSTs, with its timing already decided. */
export interface ResolvedAction {
  /** `http:<name>`, as rules refer to it. */
  id: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  requestTtlMs: number;
  resumeIntervalMs: number;
  /** `resource_opts.worker_pool_size`: buffer workers of this action. */
  workerPoolSize: number;
  /** 0 unless a test asks for latency (`Timing.sendJitterMs`). */
  sendJitterMs: number;
  /** `resource_opts.inflight_window`: requests one worker may have unanswered at once. */
  inflightWindow: number;
  connector: ConnectorSettings;
}

/** The connection pool of a connector, shared by every action that uses it. */
export interface ConnectorSettings {
  name: string;
  /** `pool_size`: connections. */
  poolSize: number;
  /** `enable_pipelining`: requests one connection carries at once (`true` is 100, `false` is 1). */
  pipelining: number;
  /** `pool_type`: `random`, or `hash` (by the rendered message's `clientid`). */
  poolType: "random" | "hash";
}

export interface CompiledRule {
  id: string;
  sql: CompiledSql;
  actions: ResolvedAction[];
}

/** Test-only overrides: compressed retry timing, and network-like latency that makes reordering frequent. */
export interface Timing {
  requestTtlMs?: number;
  resumeIntervalMs?: number;
  /** Each attempt waits a random 0..n ms before it is sent, as a real network between EMQX and AWS would. */
  sendJitterMs?: number;
}

export interface LoadOptions {
  rulesDir: string;
  ingestUrl: string;
  ingestToken: string;
  /** Fills `{{API_URL}}`; without it a connector using it is disabled (its rules post nothing). */
  apiUrl?: string;
  timing?: Timing;
  log: Log;
}

const Headers = v.optional(v.record(v.string(), v.string()), {});
const Count = v.pipe(v.number(), v.integer(), v.minValue(1));
// EMQX defaults (docs/emqx.md §6.1, §6.2).
const ResourceOpts = v.optional(
  v.looseObject({
    request_ttl: v.optional(v.string()),
    health_check_interval: v.optional(v.string()),
    worker_pool_size: v.optional(Count, 16),
    inflight_window: v.optional(Count, 100),
  }),
  {},
);
const Connector = v.looseObject({
  type: v.literal("http"),
  name: v.string(),
  enable: v.optional(v.boolean(), true),
  url: v.pipe(v.string(), v.url()),
  headers: Headers,
  pool_size: v.optional(Count, 8),
  enable_pipelining: v.optional(v.union([Count, v.boolean()]), 100),
  pool_type: v.optional(v.picklist(["random", "hash"]), "random"),
});
const Action = v.looseObject({
  type: v.literal("http"),
  name: v.string(),
  enable: v.optional(v.boolean(), true),
  connector: v.string(),
  parameters: v.looseObject({
    method: v.optional(v.string(), "post"),
    path: v.optional(v.string(), ""),
    headers: Headers,
    body: v.optional(v.unknown()),
  }),
  resource_opts: ResourceOpts,
});
const Rule = v.looseObject({
  id: v.string(),
  sql: v.string(),
  enable: v.optional(v.boolean(), true),
  actions: v.array(v.unknown()),
});
type Connector = v.InferOutput<typeof Connector>;
type Action = v.InferOutput<typeof Action>;

// EMQX defaults for an HTTP action (docs/emqx.md §6.2).
const DEFAULT_REQUEST_TTL = "45s";
const DEFAULT_HEALTH_CHECK_INTERVAL = "15s";

/** Reads and checks the three files; throws with a message naming the file, rule or action at fault. */
export async function loadRules(options: LoadOptions): Promise<CompiledRule[]> {
  const values = {
    [INGEST_URL_PLACEHOLDER]: options.ingestUrl,
    [INGEST_TOKEN_PLACEHOLDER]: options.ingestToken,
    ...(options.apiUrl ? { [API_URL_PLACEHOLDER]: options.apiUrl } : {}),
  };
  const files = await readRuleFiles(options);
  const read = <T extends v.GenericSchema>(file: keyof RuleFiles, schema: T) =>
    parseFile(file, fillPlaceholders(files[file], values), schema);
  const connectors = await read("connectors.json", v.array(Connector));
  const actions = await read("actions.json", v.array(Action));
  const rules = await read("rules.json", v.array(Rule));
  const resolved = resolveActions(connectors, actions, options);
  return rules
    .filter((rule) => rule.enable)
    .map((rule) => ({
      id: rule.id,
      sql: compileSql(rule.id, rule.sql),
      actions: rule.actions.map((ref) => lookupAction(rule.id, ref, resolved)).filter((a) => a !== undefined),
    }));
}

type RuleFiles = Record<"connectors.json" | "actions.json" | "rules.json", unknown>;

/**
 * The three files as JSON. Given no API URL (a stand-in for the ingest alone), the API over MQTT is left
 * out, connector, actions and rules, as `npm run emqx:import` leaves it out of an EMQX without `--api-url`.
 */
async function readRuleFiles(options: LoadOptions): Promise<RuleFiles> {
  const read = (file: string) => readJson(join(options.rulesDir, file));
  const [connectors, actions, rules] = await Promise.all(
    ["connectors.json", "actions.json", "rules.json"].map(read),
  );
  const files = { "connectors.json": connectors, "actions.json": actions, "rules.json": rules };
  return options.apiUrl ? files : withoutPlaceholderConnectors(files, API_URL_PLACEHOLDER);
}

function withoutPlaceholderConnectors(files: RuleFiles, placeholder: string): RuleFiles {
  const [connectors, actions, rules] = [
    files["connectors.json"],
    files["actions.json"],
    files["rules.json"],
  ].map((value) => (Array.isArray(value) ? (value as Record<string, unknown>[]) : undefined));
  // A file that is not a list is left for its schema to report.
  if (!connectors || !actions || !rules) return files;
  const dropped = new Set(connectors.filter((c) => String(c.url).includes(placeholder)).map((c) => c.name));
  const droppedActions = new Set(
    actions.filter((action) => dropped.has(action.connector)).map((action) => `http:${String(action.name)}`),
  );
  const usesDropped = (rule: Record<string, unknown>) =>
    Array.isArray(rule.actions) && rule.actions.some((id) => droppedActions.has(String(id)));
  return {
    "connectors.json": connectors.filter((c) => !dropped.has(c.name)),
    "actions.json": actions.filter((action) => !dropped.has(action.connector)),
    "rules.json": rules.filter((rule) => !usesDropped(rule)),
  };
}

/** Reads a generated file; a missing one tells the user to run the generator. */
export async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `EMQX stand-in: cannot read ${path} (${error.code ?? error.message}); run npm run emqx:generate`,
    );
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`EMQX stand-in: ${path} is not JSON: ${(error as Error).message}`);
  }
}

export function parseFile<T extends v.GenericSchema>(
  file: string,
  value: unknown,
  schema: T,
): v.InferOutput<T> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issue = result.issues[0];
  throw new Error(`EMQX stand-in: ${file}: ${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`);
}

/** Replaces placeholders inside string values (after parsing, so no value needs JSON escaping). */
export function fillPlaceholders(value: unknown, values: Record<string, string>): unknown {
  if (typeof value === "string") {
    return value.replace(/\{\{[A-Z_]+\}\}/g, (placeholder) => {
      const replacement = values[placeholder];
      if (replacement === undefined) throw new Error(`EMQX stand-in: unknown placeholder ${placeholder}`);
      return replacement;
    });
  }
  if (Array.isArray(value)) return value.map((item) => fillPlaceholders(item, values));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, item]) => [k, fillPlaceholders(item, values)]));
  }
  return value;
}

/** Disabled actions map to `undefined`: their rules still run, their messages go nowhere (as in EMQX). */
function resolveActions(
  connectors: Connector[],
  actions: Action[],
  options: LoadOptions,
): Map<string, ResolvedAction | undefined> {
  const byName = new Map(connectors.map((connector) => [connector.name, connector]));
  const resolved = new Map<string, ResolvedAction | undefined>();
  for (const action of actions) {
    const connector = byName.get(action.connector);
    if (!connector) {
      throw new Error(
        `EMQX stand-in: action "${action.name}" uses connector "${action.connector}", which does not exist`,
      );
    }
    if (action.parameters.body !== undefined) {
      throw new Error(
        `EMQX stand-in: action "${action.name}": the stand-in supports only an unset parameters.body`,
      );
    }
    const enabled = action.enable && connector.enable;
    if (!enabled) options.log(`emqx: action http:${action.name} is disabled; rules using it post nothing`);
    resolved.set(`http:${action.name}`, enabled ? resolveAction(connector, action, options) : undefined);
  }
  return resolved;
}

function resolveAction(connector: Connector, action: Action, options: LoadOptions): ResolvedAction {
  const name = `action "${action.name}"`;
  const requestTtlMs =
    options.timing?.requestTtlMs ??
    durationMs(action.resource_opts.request_ttl ?? DEFAULT_REQUEST_TTL, `${name} request_ttl`);
  const healthCheckMs = durationMs(
    action.resource_opts.health_check_interval ?? DEFAULT_HEALTH_CHECK_INTERVAL,
    `${name} health_check_interval`,
  );
  return {
    id: `http:${action.name}`,
    url: joinUrl(connector.url, action.parameters.path),
    method: action.parameters.method.toUpperCase(),
    headers: withoutHopByHop({ ...lowerKeys(connector.headers), ...lowerKeys(action.parameters.headers) }),
    requestTtlMs,
    // EMQX's buffer worker resumes after min(health_check_interval, request_ttl / 3) (docs/emqx.md §7.2).
    resumeIntervalMs: options.timing?.resumeIntervalMs ?? Math.min(healthCheckMs, requestTtlMs / 3),
    workerPoolSize: action.resource_opts.worker_pool_size ?? 16,
    sendJitterMs: options.timing?.sendJitterMs ?? 0,
    inflightWindow: action.resource_opts.inflight_window ?? 100,
    connector: {
      name: connector.name,
      poolSize: connector.pool_size,
      pipelining: pipelining(connector.enable_pipelining),
      poolType: connector.pool_type,
    },
  };
}

// ehttpc's check_gun_limit/2: `true` means 100, `false` means 1.
function pipelining(value: number | boolean): number {
  if (value === true) return 100;
  return value === false ? 1 : value;
}

function lookupAction(
  ruleId: string,
  ref: unknown,
  resolved: Map<string, ResolvedAction | undefined>,
): ResolvedAction | undefined {
  if (typeof ref !== "string" || !ref.startsWith("http:")) {
    throw new Error(
      `EMQX stand-in: rule "${ruleId}": the stand-in supports only "http:<action>" actions, not ${JSON.stringify(ref)}`,
    );
  }
  if (!resolved.has(ref))
    throw new Error(`EMQX stand-in: rule "${ruleId}" uses action "${ref}", which does not exist`);
  return resolved.get(ref);
}

/** The action path is appended to the connector URL's path; the query string is kept (docs/emqx.md §6.1). */
function joinUrl(base: string, path: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/$/, "")}${path.startsWith("/") || path === "" ? "" : "/"}${path}`;
  return url.toString();
}

// EMQX's default headers include `connection` and `keep-alive: timeout=5`; Node's fetch manages the connection
// itself and refuses a keep-alive header, which would turn every request into a retried error.
const HOP_BY_HOP = new Set(["connection", "keep-alive"]);

function withoutHopByHop(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => !HOP_BY_HOP.has(key)));
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses an EMQX duration such as `"15s"`, `"10m"`, `"1h30m"` or `"infinity"`. */
export function durationMs(text: string, what: string): number {
  if (text === "infinity") return Number.POSITIVE_INFINITY;
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== text) {
    throw new Error(`EMQX stand-in: ${what}: "${text}" is not a duration like "15s" or "10m"`);
  }
  return parts.reduce(
    (sum, [, amount, unit]) => sum + Number(amount) * (UNIT_MS[unit as string] as number),
    0,
  );
}
