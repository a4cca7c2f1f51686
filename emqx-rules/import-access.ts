/**
 * Applies access.ts through EMQX's REST API: the bridge's authenticator first (created or updated, then
 * put at the front of the chain), then authorization (settings, the deny-all `file` source at the front),
 * then the caches that would keep old decisions. Authentication goes first because the deny-all source
 * would otherwise leave every client without an ACL before any client can get one.
 */
import { ACCESS, type Access, AUTHENTICATOR_ID } from "./access.ts";
import { render } from "./definitions.ts";
import { type EmqxClient, EmqxHttpError, EmqxUnreachableError } from "./emqx-api.ts";
import { generatedFiles } from "./generate.ts";
import type { RenderValues } from "./render.ts";

/** Where lines go; the caller redacts secrets. */
export interface AccessIo {
  out(line: string): void;
  err(line: string): void;
}

type Method = "POST" | "PUT" | "DELETE";

/** One REST step: create-or-update (GET decides), or a single call. */
export type AccessStep =
  | { kind: "upsert"; what: string; path: string; createPath: string; body: object }
  | { kind: "call"; what: string; done: string; method: Method; path: string; body?: object; since?: string };

function authorizationSteps(authorization: Access["authorization"]): AccessStep[] {
  const { sources, ...settings } = authorization;
  const upserts = sources.map((source): AccessStep => {
    const path = `/authorization/sources/${source.type}`;
    return {
      kind: "upsert",
      what: `authorization source ${source.type}`,
      path,
      createPath: "/authorization/sources",
      body: source,
    };
  });
  // Each move puts a source first, so moving them last-to-first leaves them in the listed order.
  const moves = [...sources].reverse().map(
    (source): AccessStep => ({
      kind: "call",
      what: `authorization source ${source.type}`,
      done: `moved authorization source ${source.type} to the front`,
      method: "POST",
      path: `/authorization/sources/${source.type}/move`,
      body: { position: "front" },
    }),
  );
  const setSettings: AccessStep = {
    kind: "call",
    what: "authorization settings",
    done: `set authorization no_match=${settings.no_match} deny_action=${settings.deny_action} cache ttl=${settings.cache.ttl}`,
    method: "PUT",
    path: "/authorization/settings",
    body: settings,
  };
  return [setSettings, ...upserts, ...moves];
}

// Decisions EMQX cached under the old configuration would outlive the import (docs/emqx.md §10.7, §11.4).
const CACHE_STEPS: AccessStep[] = [
  {
    kind: "call",
    what: "authorization cache",
    done: "cleared the authorization cache of every client",
    method: "DELETE",
    path: "/authorization/cache",
  },
  {
    kind: "call",
    what: "authentication node cache",
    done: "reset the authentication node cache",
    method: "POST",
    path: "/authentication/node_cache/reset",
    since: "5.9",
  },
  {
    kind: "call",
    what: "authorization node cache",
    done: "reset the authorization node cache",
    method: "POST",
    path: "/authorization/node_cache/reset",
    since: "5.9",
  },
];

/** The REST steps, in the order they must run. */
export function accessSteps(access: Access): AccessStep[] {
  const path = `/authentication/${encodeURIComponent(AUTHENTICATOR_ID)}`;
  const what = `authenticator ${AUTHENTICATOR_ID}`;
  return [
    { kind: "upsert", what, path, createPath: "/authentication", body: access.authenticator },
    {
      kind: "call",
      what,
      done: `moved ${what} to the front of the chain`,
      method: "PUT",
      path: `${path}/position/front`,
    },
    ...authorizationSteps(access.authorization),
    ...CACHE_STEPS,
  ];
}

/** ACCESS with the ingest URL and token filled in. */
export function renderedAccess(values: RenderValues, access: Access = ACCESS): Access {
  return JSON.parse(render(JSON.stringify(access), values)) as Access;
}

/** Rendered `generated/access.hocon` for `emqx ctl conf load`. */
export function renderedAccessHocon(values: RenderValues): string {
  return render(generatedFiles()["access.hocon"] ?? "", values);
}

function httpError(status: number, body: unknown): EmqxHttpError {
  const { code, message } = (typeof body === "object" && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  const detail = typeof message === "string" ? message : JSON.stringify(body) || "(empty body)";
  return new EmqxHttpError(status, typeof code === "string" ? code : "UNKNOWN", detail);
}

async function send(client: EmqxClient, method: "GET" | Method, path: string, body?: object) {
  const reply = await client.request(method, path, body);
  if (method !== "GET" && (reply.status < 200 || reply.status > 299))
    throw httpError(reply.status, reply.body);
  return reply;
}

async function runStep(client: EmqxClient, step: AccessStep): Promise<string> {
  if (step.kind === "upsert") {
    const existing = await client.request("GET", step.path);
    if (existing.status === 404) {
      await send(client, "POST", step.createPath, step.body);
      return `created ${step.what}`;
    }
    if (existing.status !== 200) throw httpError(existing.status, existing.body);
    await send(client, "PUT", step.path, step.body);
    return `updated ${step.what}`;
  }
  const reply = await client.request(step.method, step.path, step.body);
  // An endpoint newer than the broker answers 404; nothing to clear there.
  if (reply.status === 404 && step.since) return `skipped ${step.what}: EMQX ${step.since}+ only`;
  if (reply.status < 200 || reply.status > 299) throw httpError(reply.status, reply.body);
  return step.done;
}

function describeFailure(error: unknown, step: AccessStep): string {
  if (error instanceof EmqxUnreachableError) return error.message;
  if (!(error instanceof EmqxHttpError)) return `importing ${step.what} failed: ${error}`;
  if (error.status === 401) {
    return `EMQX refused the API key/secret (401 ${error.code === "UNKNOWN" ? "BAD_API_KEY_OR_SECRET" : error.code}): check --key/--secret`;
  }
  return `EMQX rejected ${step.what} (${error.status} ${error.code}): ${error.detail}`;
}

/** Runs every step in order and stops at the first failure; returns the exit code (0 or 1). */
export async function importAccess(client: EmqxClient, access: Access, io: AccessIo): Promise<number> {
  for (const step of accessSteps(access)) {
    try {
      io.out(await runStep(client, step));
    } catch (error) {
      // Authorization must not be tightened when the authenticator that hands out ACLs is not in place.
      io.err(describeFailure(error, step));
      return 1;
    }
  }
  return 0;
}

/** `--dry-run`: the requests `importAccess` would send. */
export function printAccessRequests(client: EmqxClient, access: Access, io: AccessIo): void {
  const url = (path: string) => `${client.baseUrl}${path}`;
  for (const step of accessSteps(access)) {
    if (step.kind === "call") {
      io.out(`${step.method} ${url(step.path)}${step.body ? ` ${JSON.stringify(step.body)}` : ""}`);
      continue;
    }
    io.out(`GET ${url(step.path)}`);
    io.out(`  404 -> POST ${url(step.createPath)} ${JSON.stringify(step.body)}`);
    io.out(`  200 -> PUT ${url(step.path)} ${JSON.stringify(step.body)}`);
  }
}
