import { compileErrors, validate } from "@readme/openapi-parser";
import { findTargetHandler } from "hono/utils/handler";
import { uniqueSymbol } from "hono-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbReaders } from "../../functions/adapters/dynamodb/readers.ts";
import { DynamoDbWebhookStore } from "../../functions/adapters/dynamodb/webhook-store.ts";
import { createJobPorts } from "../../functions/adapters/job-deps.ts";
import { createApiApp, OPENAPI_PATH, REFERENCE_PATH } from "../../functions/api/app.ts";
import { LIVE_PATH } from "../../functions/api/live-page.ts";
import type { ApiDeps } from "../../functions/api/types.ts";
import { newApiKey, StaticApiKeyStore } from "../../functions/core/api-keys.ts";
import { serveApp } from "../../local/services/http-server.ts";
import { ensureJobsQueue } from "../../local/services/jobs-worker.ts";
import { createTestResources, silentLogger, type TestResources, uniqueName } from "../support/resources.ts";

interface JsonSchema {
  type?: string;
  pattern?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: unknown;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: JsonSchema;
  description?: string;
}
interface Operation {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
  security?: Array<Record<string, string[]>>;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

let env: TestResources;
let app: ReturnType<typeof createApiApp>;
let server: Awaited<ReturnType<typeof serveApp>>;
let doc: Document;
const { key: adminKey } = newApiKey("ops", ["admin"]);

beforeAll(async () => {
  env = await createTestResources();
  const deps: ApiDeps = {
    ...env.deps,
    keys: new StaticApiKeyStore([{ name: "ops", key: adminKey, scopes: ["admin"] }]),
    reader: new DynamoDbReaders(env.dynamodb, env.tableName),
    deviceTokenSecrets: env.config.DEVICE_TOKEN_SECRETS,
    webhooks: new DynamoDbWebhookStore(env.dynamodb, env.tableName),
    ...createJobPorts(
      { ...env.config, JOBS_QUEUE_URL: (await ensureJobsQueue(env.sqs, uniqueName("jobs"))).url },
      { dynamodb: env.dynamodb, sqs: env.sqs },
    ),
  };
  // The routes are read from the very app that is served.
  app = createApiApp(deps, { logger: silentLogger() });
  server = await serveApp(app.fetch);
  const response = await fetch(`${server.url}${OPENAPI_PATH}`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as Document;
});
afterAll(async () => {
  await server?.stop();
  env?.destroy();
});

/** Hono's `:param` (optionally `:param{regex}` or `:param?`) as OpenAPI's `{param}`. */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??/g, "{$1}");

/** Every method + path the app routes, without the document, its page and middleware (`ALL`). */
function registeredOperations(): Array<{ method: string; path: string }> {
  const seen = new Map<string, { method: string; path: string }>();
  for (const route of app.routes) {
    if (route.method === "ALL") continue;
    if (route.path === OPENAPI_PATH || route.path === REFERENCE_PATH) continue;
    if (route.path.startsWith(LIVE_PATH)) continue; // a page and its scripts, not operations
    const operation = { method: route.method.toLowerCase(), path: toOpenApiPath(route.path) };
    seen.set(`${operation.method} ${operation.path}`, operation);
  }
  return [...seen.values()];
}

function documentedOperations(): Array<{ method: string; path: string; operation: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({ method, path, operation })),
  );
}

describe(`GET ${OPENAPI_PATH}`, () => {
  it("is served as JSON without an API key (the route has no scope check), and with one", async () => {
    const anonymous = await fetch(`${server.url}${OPENAPI_PATH}`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get("content-type")).toMatch(/^application\/json/);
    const withKey = await fetch(`${server.url}${OPENAPI_PATH}`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(withKey.status).toBe(200);
    expect(await withKey.json()).toEqual(doc);
    const badKey = await fetch(`${server.url}${OPENAPI_PATH}`, { headers: { authorization: "Bearer nope" } });
    expect(badKey.status).toBe(200);
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    expect(doc.openapi).toMatch(/^3\.1(\.\d+)?$/);
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    expect(result.specification).toBe("OpenAPI");
    expect(result.warnings).toEqual([]);
    expect(doc.info.title.length).toBeGreaterThan(0);
  });

  it("declares the bearer API key as the security of every operation", () => {
    expect(doc.components?.securitySchemes?.apiKey).toEqual({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ apiKey: [] }]);
  });

  it("lists every route the app registers, with its method, and nothing else", () => {
    const registered = registeredOperations();
    const documented = documentedOperations().map(({ method, path }) => `${method} ${path}`);
    // The nine routes of issue 4 and the command API, so that an empty route table cannot pass.
    expect(registered.length).toBeGreaterThanOrEqual(9);
    expect(documented.sort()).toEqual(registered.map(({ method, path }) => `${method} ${path}`).sort());
    expect(doc.paths[OPENAPI_PATH]).toBeUndefined();
    expect(doc.paths[REFERENCE_PATH]).toBeUndefined();
    expect(Object.keys(doc.paths).every((path) => !path.includes(":"))).toBe(true);
  });

  it("covers the routes of the operations API by name", () => {
    const documented = documentedOperations().map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(documented).toEqual(
      expect.arrayContaining([
        "GET /v1/devices",
        "GET /v1/devices/{sn}",
        "GET /v1/devices/{sn}/attendance",
        "GET /v1/users/{userId}/attendance",
        "GET /v1/quarantine",
        "POST /v1/replay",
        "POST /v1/devices/{sn}/commands",
        "GET /v1/devices/{sn}/commands",
        "GET /v1/devices/{sn}/commands/{id}",
        "GET /v1/devices/{sn}/gaps",
        "GET /v1/gaps",
        "POST /v1/devices/{sn}/credentials",
        "PATCH /v1/devices/{sn}",
        "PUT /v1/devices/{sn}",
        "POST /v1/jobs",
        "GET /v1/jobs",
        "GET /v1/jobs/{id}",
        "GET /v1/jobs/{id}/executions",
        "POST /v1/jobs/{id}/cancel",
      ]),
    );
  });

  it("documents every path parameter as a required path parameter", () => {
    for (const { method, path, operation } of documentedOperations()) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters ?? []).filter((p) => p.in === "path");
      expect(declared.map((p) => p.name).sort(), `${method} ${path}`).toEqual(names.sort());
      expect(declared.every((p) => p.required === true)).toBe(true);
    }
  });

  it("gives every operation a 200, 201 or 202 JSON answer and problem+json error answers", () => {
    for (const { method, path, operation } of documentedOperations()) {
      const label = `${method.toUpperCase()} ${path}`;
      const responses = operation.responses ?? {};
      const success = Object.keys(responses).filter((status) => ["200", "201", "202"].includes(status));
      expect(success, label).toHaveLength(1);
      expect(responses[success[0] as string]?.content?.["application/json"]?.schema, label).toBeDefined();
      for (const status of ["401", "403", "503"]) expect(Object.keys(responses), label).toContain(status);
      const errors = Object.entries(responses).filter(([status]) => Number(status) >= 400);
      for (const [status, response] of errors) {
        expect(Object.keys(response.content ?? {}), `${label} ${status}`).toEqual([
          "application/problem+json",
        ]);
        expect(response.content?.["application/problem+json"]?.schema, `${label} ${status}`).toMatchObject({
          type: "object",
          required: expect.arrayContaining(["type", "title", "status", "detail"]),
        });
      }
      if (method === "post") {
        expect(operation.requestBody?.content?.["application/json"], label).toBeDefined();
        expect(Object.keys(responses), label).toEqual(expect.arrayContaining(["400", "422"]));
      }
    }
  });

  it("documents the success status each route really answers", async () => {
    const answers: Record<string, number> = {};
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body ? { "content-type": "application/json" } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return response.status;
    };
    answers["post /v1/devices/{sn}/commands"] = await call("POST", "/v1/devices/SN-DOC-1/commands", {
      id: "doc-1",
      op: "noop",
    });
    // A pending command makes the device known to GET /v1/devices/{sn} without any broker traffic.
    await env.deps.commands.transition("SN-DOC-1", "doc-1", "pending", new Date().toISOString());
    answers["get /v1/devices/{sn}/commands/{id}"] = await call("GET", "/v1/devices/SN-DOC-1/commands/doc-1");
    answers["get /v1/devices/{sn}/commands"] = await call("GET", "/v1/devices/SN-DOC-1/commands");
    answers["get /v1/devices"] = await call("GET", "/v1/devices");
    answers["get /v1/devices/{sn}"] = await call("GET", "/v1/devices/SN-DOC-1");
    answers["get /v1/devices/{sn}/attendance"] = await call("GET", "/v1/devices/SN-DOC-1/attendance");
    answers["get /v1/devices/{sn}/gaps"] = await call("GET", "/v1/devices/SN-DOC-1/gaps");
    answers["get /v1/gaps"] = await call("GET", "/v1/gaps?open=true");
    answers["get /v1/users/{userId}/attendance"] = await call("GET", "/v1/users/1001/attendance");
    answers["get /v1/quarantine"] = await call("GET", "/v1/quarantine");
    answers["post /v1/replay"] = await call("POST", "/v1/replay", { from: "2026-01-01", to: "2026-01-02" });
    answers["post /v1/devices/{sn}/credentials"] = await call("POST", "/v1/devices/SN-DOC-2/credentials", {});
    answers["patch /v1/devices/{sn}"] = await call("PATCH", "/v1/devices/SN-DOC-2", { enabled: false });
    answers["patch /v1/devices/{sn}/shadow"] = await call("PATCH", "/v1/devices/SN-DOC-3/shadow", {
      desired: { fan: true },
      version: 0,
    });
    answers["get /v1/devices/{sn}/shadow"] = await call("GET", "/v1/devices/SN-DOC-3/shadow");
    answers["put /v1/devices/{sn}/transport"] = await call("PUT", "/v1/devices/SN-DOC-3/transport", {
      transport: "http",
    });
    answers["get /v1/devices/{sn}/transport"] = await call("GET", "/v1/devices/SN-DOC-3/transport");
    const hook = await fetch(`${server.url}/v1/webhooks`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ url: "https://example.com/hooks", types: ["attendance"] }),
    });
    answers["post /v1/webhooks"] = hook.status;
    const hookPath = `/v1/webhooks/${((await hook.json()) as { webhook: { id: string } }).webhook.id}`;
    answers["get /v1/webhooks"] = await call("GET", "/v1/webhooks");
    answers["get /v1/webhooks/{id}"] = await call("GET", hookPath);
    answers["get /v1/webhooks/{id}/dead-letters"] = await call("GET", `${hookPath}/dead-letters`);
    answers["delete /v1/webhooks/{id}"] = await call("DELETE", hookPath);
    answers["put /v1/devices/{sn}"] = await call("PUT", "/v1/devices/SN-DOC-4", { groups: ["doc"] });
    answers["post /v1/jobs"] = await call("POST", "/v1/jobs", {
      id: "doc-3",
      op: "noop",
      targets: { group: "doc" },
    });
    answers["get /v1/jobs"] = await call("GET", "/v1/jobs");
    answers["get /v1/jobs/{id}"] = await call("GET", "/v1/jobs/doc-3");
    answers["get /v1/jobs/{id}/executions"] = await call("GET", "/v1/jobs/doc-3/executions");
    answers["post /v1/jobs/{id}/cancel"] = await call("POST", "/v1/jobs/doc-3/cancel", {});
    const documented = documentedOperations();
    expect(Object.keys(answers).sort()).toEqual(documented.map((d) => `${d.method} ${d.path}`).sort());
    for (const { method, path, operation } of documented) {
      const status = String(answers[`${method} ${path}`]);
      expect(status, `${method} ${path}`).toMatch(/^20[012]$/);
      expect(Object.keys(operation.responses ?? {}), `${method} ${path} answered ${status}`).toContain(
        status,
      );
    }
  });
});

describe(`GET ${REFERENCE_PATH}`, () => {
  it("is an HTML page, served without a key, that loads the OpenAPI document", async () => {
    const response = await fetch(`${server.url}${REFERENCE_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain(`href="${OPENAPI_PATH}"`);
    expect(html).toContain(`fetch(${JSON.stringify(OPENAPI_PATH)})`);
    expect(html).not.toMatch(/<script[^>]+src=/i);
  });

  it("is GET only: another method is an unknown route (401 without a key, 404 with one)", async () => {
    for (const path of [REFERENCE_PATH, OPENAPI_PATH]) {
      const anonymous = await fetch(`${server.url}${path}`, { method: "POST" });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      const withKey = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}` },
      });
      expect(withKey.status).toBe(404);
      expect(withKey.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
  });
});

// --- The document and the validation are one: every documented constraint is enforced, and what the
// routes validate with is exactly what is documented. ------------------------------------------------

/** A valid value for each path parameter, and a valid body for each operation with one. */
const VALID_PATH: Record<string, string> = { sn: "SN-DOC-3", id: "doc-3", userId: "1001" };
const VALID_BODY: Record<string, Record<string, unknown>> = {
  "post /v1/devices/{sn}/commands": { op: "noop" },
  "post /v1/replay": { from: "2026-01-01", to: "2026-01-02" },
  "post /v1/devices/{sn}/credentials": { kick: false },
  "patch /v1/devices/{sn}": { enabled: true },
  "put /v1/devices/{sn}": { groups: ["doc"], attributes: { floor: 2 } },
  "post /v1/jobs": { op: "noop", targets: { sns: ["SN-DOC-3"] } },
  "post /v1/jobs/{id}/cancel": { reason: "doc" },
};

/** Text that might break a pattern: each documented pattern must refuse at least one of these. */
const TEXT_PROBES = ["a b", "#", "a/b", "0", "101", "-1", "1.5", "abc", "2026-1-1", "x".repeat(65), ""];

/** Strings a string schema's documented constraints (pattern, enum, lengths) say are refused. */
function refusedStrings(schema: JsonSchema): string[] {
  const refused: string[] = [];
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern);
    refused.push(...TEXT_PROBES.filter((probe) => !pattern.test(probe)).slice(0, 3));
  }
  if (schema.enum) refused.push("not-one-of-them");
  if (schema.minLength) refused.push("x".repeat(schema.minLength - 1));
  if (schema.maxLength !== undefined) refused.push("x".repeat(schema.maxLength + 1));
  return refused;
}

/** JSON values a body property's documented type, pattern and range say are refused. */
function refusedValues(schema: JsonSchema): unknown[] {
  const wrongType: Record<string, unknown> = {
    string: 5,
    integer: 1.5,
    number: "1",
    boolean: "yes",
    object: [1],
    array: "x",
  };
  const refused: unknown[] = schema.type ? [wrongType[schema.type]] : [];
  if (schema.type === "string") refused.push(...refusedStrings(schema));
  if (schema.minimum !== undefined) refused.push(schema.minimum - 1);
  if (schema.maximum !== undefined) refused.push(schema.maximum + 1);
  return refused;
}

interface Violation {
  label: string;
  method: string;
  path: string;
  body?: unknown;
  status: number;
  field: string;
}

/** Each documented parameter constraint broken once, the rest of the request valid. */
function parameterViolations(method: string, path: string, operation: Operation): Violation[] {
  const fill = (template: string, name?: string, value?: string) =>
    template.replace(/\{([^}]+)\}/g, (_, key: string) =>
      encodeURIComponent(key === name && value !== undefined ? value : (VALID_PATH[key] as string)),
    );
  const body = VALID_BODY[`${method} ${path}`];
  return (operation.parameters ?? []).flatMap((parameter) =>
    refusedStrings(parameter.schema ?? {})
      // An empty path segment is another route, not a bad value.
      .filter((value) => !(parameter.in === "path" && value === ""))
      .map((value) => ({
        label: `${method} ${path} ${parameter.in} ${parameter.name}=${JSON.stringify(value.slice(0, 20))}`,
        method,
        path:
          parameter.in === "path"
            ? fill(path, parameter.name, value)
            : `${fill(path)}?${parameter.name}=${encodeURIComponent(value)}`,
        body,
        status: 400,
        field: parameter.name,
      })),
  );
}

/** Each documented body constraint broken once: a property's type, pattern or range, a required or an unknown field. */
function bodyViolations(method: string, path: string, operation: Operation): Violation[] {
  const schema = operation.requestBody?.content?.["application/json"]?.schema;
  const valid = VALID_BODY[`${method} ${path}`];
  if (!schema || !valid) return [];
  const target = path.replace(/\{([^}]+)\}/g, (_, key: string) => VALID_PATH[key] as string);
  const at = (field: string, body: unknown, what: string): Violation => ({
    label: `${method} ${path} body ${what}`,
    method,
    path: target,
    body,
    status: 422,
    field,
  });
  const violations = Object.entries(schema.properties ?? {}).flatMap(([name, property]) =>
    refusedValues(property).map((value) =>
      at(name, { ...valid, [name]: value }, `${name}=${JSON.stringify(value)}`),
    ),
  );
  for (const name of schema.required ?? [])
    violations.push(at(name, { ...valid, [name]: undefined }, `without ${name}`));
  if (schema.additionalProperties === false) violations.push(at("colour", { ...valid, colour: 1 }, "colour"));
  return violations;
}

describe("the document states what is validated, and only that", () => {
  it("refuses a value breaking any documented constraint with a 400 or 422 naming it", async () => {
    const violations = documentedOperations().flatMap(({ method, path, operation }) => [
      ...parameterViolations(method, path, operation),
      ...bodyViolations(method, path, operation),
    ]);
    // sn, id, userId, limit, online, status, day; the bodies of commands, replay, credentials and patch.
    expect(violations.length).toBeGreaterThan(60);
    const wrong: string[] = [];
    for (const violation of violations) {
      const response = await fetch(`${server.url}${violation.path}`, {
        method: violation.method.toUpperCase(),
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(violation.body ? { "content-type": "application/json" } : {}),
        },
        ...(violation.body ? { body: JSON.stringify(violation.body) } : {}),
      });
      const problem = (await response.json()) as { field?: string; detail?: string };
      const named = problem.field === violation.field && problem.detail?.includes(violation.field);
      if (response.status !== violation.status || !named)
        wrong.push(`${violation.label}: ${response.status} ${JSON.stringify(problem)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("every pattern, enum and range of the routes' validators is the one documented, and no input is unvalidated", async () => {
    const checked = new Set<string>();
    for (const route of app.routes) {
      const spec = (findTargetHandler(route.handler) as { [uniqueSymbol]?: ValidatorSpec })[uniqueSymbol];
      if (!spec?.target) continue;
      const key = `${route.method.toLowerCase()} ${toOpenApiPath(route.path)}`;
      const operation = documentedOperations().find((d) => `${d.method} ${d.path}` === key)?.operation;
      const { schema } = await spec.toOpenAPISchema();
      if (spec.target === "json") {
        expect(operation?.requestBody?.content?.["application/json"]?.schema, key).toEqual(schema);
      } else {
        for (const [name, property] of Object.entries(schema.properties ?? {})) {
          const documented = operation?.parameters?.find((p) => p.name === name);
          const { description: _, ...constraints } = property as JsonSchema & { description?: string };
          expect(documented?.schema, `${key} ${name}`).toEqual(constraints);
          expect(documented?.in, `${key} ${name}`).toBe(spec.target === "param" ? "path" : "query");
        }
      }
      for (const name of Object.keys(schema.properties ?? {})) checked.add(`${key} ${spec.target} ${name}`);
      if (spec.target === "json") checked.add(`${key} json`);
    }
    // The reverse: every documented parameter and body comes from a validator of its route.
    for (const { method, path, operation } of documentedOperations()) {
      for (const parameter of operation.parameters ?? []) {
        const target = parameter.in === "path" ? "param" : parameter.in;
        expect(checked, `${method} ${path} ${parameter.name}`).toContain(
          `${method} ${path} ${target} ${parameter.name}`,
        );
      }
      if (operation.requestBody)
        expect(checked, `${method} ${path} body`).toContain(`${method} ${path} json`);
    }
  });

  it("documents the credentials body as optional, as it is", async () => {
    const operation = doc.paths["/v1/devices/{sn}/credentials"]?.post;
    expect(operation?.requestBody?.required).toBe(false);
    const response = await fetch(`${server.url}/v1/devices/SN-DOC-4/credentials`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(response.status).toBe(200);
  });
});

interface ValidatorSpec {
  target?: string;
  toOpenAPISchema: () => Promise<{ schema: JsonSchema }>;
}
