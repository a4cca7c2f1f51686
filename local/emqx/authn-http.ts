/**
 * EMQX's HTTP authenticator (`password_based:http`), as the stand-in runs it: one request per CONNECT built
 * from the configured templates, and the answer read the way `emqx_authn_http` reads it under the default
 * (legacy) security profile (docs/emqx.md §10.1-§10.6).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import * as v from "valibot";
import { type CompiledAclRule, compileAnswerAcl, InvalidAclError } from "./acl.ts";
import { durationMs } from "./definitions.ts";

export const HttpAuthenticatorSchema = v.looseObject({
  mechanism: v.literal("password_based"),
  backend: v.literal("http"),
  enable: v.optional(v.boolean(), true),
  method: v.picklist(["post", "get"]),
  url: v.pipe(v.string(), v.url()),
  headers: v.optional(v.record(v.string(), v.string()), {}),
  body: v.optional(v.record(v.string(), v.string()), {}),
  request_timeout: v.optional(v.string(), "5s"),
  pool_size: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 8),
  ssl: v.optional(v.looseObject({ verify: v.optional(v.string()) })),
});
export type HttpAuthenticatorConfig = v.InferOutput<typeof HttpAuthenticatorSchema>;

/** What one CONNECT offers the authenticator. */
export interface Credentials {
  clientid: string;
  username: string | undefined;
  password: Buffer | undefined;
  peerhost: string;
}

/** MQTT 3.1.1 CONNACK return codes EMQX uses for a refused login. */
export const BAD_USERNAME_OR_PASSWORD = 4;
export const NOT_AUTHORIZED = 5;

export type AuthnOutcome =
  | {
      result: "allow";
      superuser: boolean;
      clientAttrs: Record<string, string>;
      /** Unix seconds. */
      expireAt?: number;
      acl?: CompiledAclRule[];
    }
  | { result: "deny"; returnCode: typeof BAD_USERNAME_OR_PASSWORD | typeof NOT_AUTHORIZED }
  | { result: "ignore"; why: string };

// EMQX's default headers for POST (emqx_auth_http_utils:default_headers/0); configured ones win.
const DEFAULT_HEADERS: Record<string, string> = {
  "content-type": "application/json",
  accept: "application/json",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "keep-alive": "timeout=30, max=1000",
};

// The placeholders EMQX 5.8 renders in authentication templates; any other is sent literally.
const ALLOWED_VARS = new Set([
  "clientid",
  "username",
  "password",
  "peerhost",
  "cert_subject",
  "cert_common_name",
]);

/** An authenticator with its own connection pool of `pool_size` keep-alive connections. */
export class HttpAuthenticator {
  readonly #agent: HttpAgent;
  readonly #timeoutMs: number;

  constructor(
    readonly config: HttpAuthenticatorConfig,
    timeoutOverrideMs?: number,
  ) {
    const options = { keepAlive: true, maxSockets: config.pool_size };
    this.#agent = config.url.startsWith("https:")
      ? new HttpsAgent({ ...options, rejectUnauthorized: config.ssl?.verify !== "verify_none" })
      : new HttpAgent(options);
    this.#timeoutMs =
      timeoutOverrideMs ?? durationMs(config.request_timeout, "authentication request_timeout");
  }

  /** The authenticator's answer for one CONNECT; every failure to get an answer is "ignore". */
  async authenticate(credentials: Credentials): Promise<AuthnOutcome> {
    const vars = templateVars(credentials);
    // A password that is not UTF-8 cannot go into a JSON body: EMQX fails to build the request.
    if (!vars) return { result: "ignore", why: "the password is not valid UTF-8" };
    try {
      const answer = await this.#send(vars);
      return readAnswer(answer.status, answer.contentType, answer.body);
    } catch (error) {
      return { result: "ignore", why: (error as Error).message };
    }
  }

  stop(): void {
    this.#agent.destroy();
  }

  #send(vars: Record<string, string>): Promise<{ status: number; contentType: string; body: string }> {
    const { url, headers, body } = buildRequest(this.config, vars);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(url, { method: this.config.method.toUpperCase(), headers, agent: this.#agent });
      const timer = setTimeout(() => request.destroy(new Error("timeout")), this.#timeoutMs);
      request.on("response", (response: IncomingMessage) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers["content-type"] ?? "",
            body: text,
          });
        });
        response.on("error", reject);
      });
      request.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.end(body);
    });
  }
}

/** Values of the placeholders: every value a string, undefined ones "" (unlike the rule engine). */
function templateVars(credentials: Credentials): Record<string, string> | undefined {
  let password = "";
  try {
    password = new TextDecoder("utf-8", { fatal: true }).decode(credentials.password ?? Buffer.alloc(0));
  } catch {
    return undefined;
  }
  return {
    clientid: credentials.clientid,
    username: credentials.username ?? "",
    password,
    peerhost: credentials.peerhost,
    cert_subject: "",
    cert_common_name: "",
  };
}

function render(template: string, vars: Record<string, string>, encode = (s: string) => s): string {
  return template.replace(/\$\{([A-Za-z_.]+)\}/g, (text, name: string) =>
    ALLOWED_VARS.has(name) ? encode(vars[name] ?? "") : text,
  );
}

/** The request EMQX builds: JSON or form body for POST, a query string for GET. */
export function buildRequest(config: HttpAuthenticatorConfig, vars: Record<string, string>) {
  const url = new URL(render(config.url, vars, encodeURIComponent));
  const defaults = config.method === "get" ? withoutContentType(DEFAULT_HEADERS) : DEFAULT_HEADERS;
  const headers: Record<string, string> = { ...defaults };
  for (const [name, value] of Object.entries(config.headers))
    headers[name.toLowerCase()] = render(value, vars);
  const fields = Object.fromEntries(
    Object.entries(config.body).map(([key, value]) => [key, render(value, vars)]),
  );
  if (config.method === "get") {
    for (const [key, value] of Object.entries(fields)) url.searchParams.append(key, value);
    return { url, headers, body: undefined };
  }
  const form = headers["content-type"]?.startsWith("application/x-www-form-urlencoded");
  return { url, headers, body: form ? new URLSearchParams(fields).toString() : JSON.stringify(fields) };
}

function withoutContentType(headers: Record<string, string>): Record<string, string> {
  const { "content-type": _, ...rest } = headers;
  return rest;
}

/** `handle_response/2`: 204 allows, a 200 JSON/form `result` decides, anything else is "ignore". */
export function readAnswer(
  status: number,
  contentType: string,
  body: string,
  nowMs = Date.now(),
): AuthnOutcome {
  if (status === 204) return { result: "allow", superuser: false, clientAttrs: {} };
  if (status !== 200) return { result: "ignore", why: `HTTP ${status}` };
  const parsed = parseBody(contentType, body);
  if (!parsed) return { result: "ignore", why: "no usable content-type or an unparsable body" };
  if (parsed.result === "deny") return { result: "deny", returnCode: NOT_AUTHORIZED };
  if (parsed.result !== "allow") return { result: "ignore", why: `result ${JSON.stringify(parsed.result)}` };
  return allowFrom(parsed, nowMs);
}

function parseBody(contentType: string, body: string): Record<string, unknown> | undefined {
  const type = contentType.toLowerCase();
  try {
    if (type.startsWith("application/json")) {
      const value: unknown = JSON.parse(body);
      return typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
    }
    if (type.startsWith("application/x-www-form-urlencoded"))
      return Object.fromEntries(new URLSearchParams(body));
  } catch {
    return undefined;
  }
  return undefined;
}

const ATTR_KEY = /^[A-Za-z0-9]+[A-Za-z0-9-_]*$/;

/** `extract_auth_data/2`: a bad `acl` or `expire_at` turns the allow into "bad username or password". */
function allowFrom(answer: Record<string, unknown>, nowMs: number): AuthnOutcome {
  const attrs = answer.client_attrs ?? {};
  if (
    typeof attrs !== "object" ||
    attrs === null ||
    Object.values(attrs).some((a) => typeof a !== "string")
  ) {
    // A non-string attribute crashes the provider outside its try: counted as "ignore".
    return { result: "ignore", why: "client_attrs with a non-string value" };
  }
  const clientAttrs = Object.fromEntries(
    Object.entries(attrs as Record<string, string>).filter(([key]) => ATTR_KEY.test(key)),
  );
  const expireAt = answer.expire_at;
  if (expireAt !== undefined && !validExpiry(expireAt, nowMs)) {
    return { result: "deny", returnCode: BAD_USERNAME_OR_PASSWORD };
  }
  if (answer.acl !== undefined && !Array.isArray(answer.acl)) {
    return { result: "ignore", why: "acl is not an array" };
  }
  let acl: CompiledAclRule[] | undefined;
  try {
    acl = answer.acl === undefined ? undefined : compileAnswerAcl(answer.acl);
  } catch (error) {
    if (error instanceof InvalidAclError) return { result: "deny", returnCode: BAD_USERNAME_OR_PASSWORD };
    throw error;
  }
  return {
    result: "allow",
    superuser: isTrue(answer.is_superuser),
    clientAttrs,
    ...(expireAt === undefined ? {} : { expireAt: expireAt as number }),
    ...(acl ? { acl } : {}),
  };
}

/** Seconds, an integer, in the future, and not a millisecond value by mistake (`expire_sec/1`). */
function validExpiry(value: unknown, nowMs: number): boolean {
  if (typeof value !== "number" || !Number.isInteger(value)) return false;
  return value > Math.floor(nowMs / 1000) && value <= nowMs / 2;
}

function isTrue(value: unknown): boolean {
  if (value === true || value === "true" || value === "1") return true;
  return typeof value === "number" && Number.isInteger(value) && value >= 1;
}
