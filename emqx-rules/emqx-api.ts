/** Minimal client for the EMQX management REST API (`/api/v5`), authenticated with an API key. */
import type { Definitions } from "./definitions.ts";

/** One definition as the REST API sees it. */
export interface RestTarget {
  kind: "connector" | "action" | "rule";
  /** `http:<name>` for connectors and actions, the rule id for rules. */
  id: string;
  /** Collection path for POST, e.g. `/connectors`. */
  collection: string;
  /** POST body: carries `type` + `name` (or `id`). */
  createBody: object;
  /** PUT body: the same without the identity fields, which EMQX takes from the path. */
  updateBody: object;
}

/** Connectors, then actions, then rules: EMQX discards messages of a rule whose action is missing. */
export function restTargets(definitions: Definitions): RestTarget[] {
  const connectors = definitions.connectors.map(({ type, name, ...update }) => ({
    kind: "connector" as const,
    id: `${type}:${name}`,
    collection: "/connectors",
    createBody: { type, name, ...update },
    updateBody: update,
  }));
  const actions = definitions.actions.map(({ type, name, ...update }) => ({
    kind: "action" as const,
    id: `${type}:${name}`,
    collection: "/actions",
    createBody: { type, name, ...update },
    updateBody: update,
  }));
  const rules = definitions.rules.map(({ id, ...update }) => ({
    kind: "rule" as const,
    id,
    collection: "/rules",
    createBody: { id, ...update },
    updateBody: update,
  }));
  return [...connectors, ...actions, ...rules];
}

/** Path of one existing definition, e.g. `/connectors/http:bridge_ingest`. */
export function targetPath(target: RestTarget): string {
  return `${target.collection}/${encodeURIComponent(target.id).replaceAll("%3A", ":")}`;
}

/** EMQX answered with an unexpected status; `code`/`detail` come from its `{code, message}` body. */
export class EmqxHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(`EMQX answered ${status} ${code}: ${detail}`);
  }
}

/** The API could not be reached at all (refused, DNS, timeout). */
export class EmqxUnreachableError extends Error {
  constructor(
    readonly baseUrl: string,
    reason: string,
  ) {
    super(`cannot reach EMQX at ${baseUrl}: ${reason}`);
  }
}

export interface EmqxClientOptions {
  /** Dashboard/API listener, e.g. `https://host:18084`; a trailing `/api/v5` is accepted. */
  url: string;
  key: string;
  secret: string;
  timeoutMs?: number;
}

interface Reply {
  status: number;
  body: unknown;
}

/**
 * EMQX's management API in the one form every part of the bridge uses, `<listener>/api/v5`, from either
 * form people write: `https://host:18084` or `https://host:18084/api/v5` (a trailing `/` is fine, and so
 * is a path prefix of a reverse proxy). Throws, saying why, on anything else.
 */
export function emqxApiBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a URL: '${url}' (e.g. https://emqx.example.com:18084)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`must be http:// or https://, not ${parsed.protocol}//`);
  }
  if (parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw new Error(
      "must not carry a query, a fragment or credentials (the API key goes in its own settings)",
    );
  }
  const path = parsed.pathname.replace(/\/+$/, "");
  const version = /\/api\/(v\d+)$/.exec(path)?.[1];
  if (version && version !== "v5") throw new Error(`EMQX 5's management API is /api/v5, not /api/${version}`);
  return `${parsed.origin}${version ? path : `${path}/api/v5`}`;
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function httpError(reply: Reply): EmqxHttpError {
  const { body } = reply;
  if (typeof body !== "object" || body === null) {
    return new EmqxHttpError(reply.status, "UNKNOWN", String(body) || "(empty body)");
  }
  const { code, message } = body as { code?: unknown; message?: unknown };
  const detail = typeof message === "string" ? message : JSON.stringify(body);
  return new EmqxHttpError(reply.status, typeof code === "string" ? code : "UNKNOWN", detail);
}

function unreachableReason(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "no answer in time";
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? String(error);
}

/** REST client bound to one EMQX cluster and API key. */
export class EmqxClient {
  readonly baseUrl: string;
  readonly #authorization: string;
  readonly #timeoutMs: number;

  constructor(options: EmqxClientOptions) {
    this.baseUrl = emqxApiBaseUrl(options.url);
    this.#authorization = `Basic ${Buffer.from(`${options.key}:${options.secret}`).toString("base64")}`;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Sends one request; any HTTP status resolves, only transport failures reject. */
  async request(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: object): Promise<Reply> {
    const headers: Record<string, string> = {
      authorization: this.#authorization,
      accept: "application/json",
    };
    if (body) headers["content-type"] = "application/json";
    try {
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      return { status: response.status, body: parseBody(await response.text()) };
    } catch (error) {
      throw new EmqxUnreachableError(this.baseUrl, unreachableReason(error));
    }
  }

  /** Creates the definition when EMQX does not have it (404), updates it when it does (200). */
  async upsert(target: RestTarget): Promise<"created" | "updated"> {
    const existing = await this.request("GET", targetPath(target));
    if (existing.status === 404) {
      await this.#expectOk(this.request("POST", target.collection, target.createBody));
      return "created";
    }
    if (existing.status !== 200) throw httpError(existing);
    await this.#expectOk(this.request("PUT", targetPath(target), target.updateBody));
    return "updated";
  }

  async #expectOk(pending: Promise<Reply>): Promise<void> {
    const reply = await pending;
    if (reply.status < 200 || reply.status > 299) throw httpError(reply);
  }
}
