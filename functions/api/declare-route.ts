import { type Handler, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { describeRoute } from "hono-openapi";
import type * as v from "valibot";
import type { ApiKeyStore, Scope } from "../core/api-keys.ts";
import { requireScope } from "../http/api-key-auth.ts";
import { jsonObjectBody } from "../http/json-body.ts";
import { tooLarge } from "../http/problems.ts";
import { type InputTarget, validate } from "../http/validate.ts";
import { jsonContent, problems } from "./route-kit.ts";
import type { ApiEnv } from "./types.ts";

type Schema = v.GenericSchema;

/**
 * A route as data: what the OpenAPI document says about it, the scope it needs and the schema of each input.
 * Its error answers follow from that (see `errorStatuses`), so the document cannot forget or invent one.
 */
export interface RouteDeclaration extends Partial<ResourceDefaults> {
  summary: string;
  description?: string;
  /** The success answer: its description and body schema, and its status when it is not 200. */
  ok:
    | readonly [description: string, body: Schema]
    | readonly [description: string, body: Schema, status: 201 | 202];
  param?: Schema;
  query?: Schema;
  /** The JSON object body's schema. */
  json?: Schema;
  /** An empty body stands for `{}`, and the document says the body is optional. */
  optionalBody?: boolean;
  /** A tighter limit than the app's, for a body that is never large: refused while it streams in. */
  maxBodyBytes?: number;
  /** What the handler itself answers besides success: 404 for an unknown resource, 409 for a conflict. */
  errors?: readonly (404 | 409)[];
}

/** What a resource's routes share unless one says otherwise. */
export interface ResourceDefaults {
  tags: readonly string[];
  /** The key needs one of these scopes (or `admin`). */
  scope: Scope | readonly Scope[];
}

/** The schema a declaration gives for `target`, or `never`. */
type Declared<D, K extends InputTarget> = D extends { [P in K]: infer S extends Schema } ? S : never;

/** What `c.req.valid(target)` answers: the parsed output of each declared input, and only those. */
type ValidOutput<D> = {
  [K in InputTarget as [Declared<D, K>] extends [never] ? never : K]: v.InferOutput<Declared<D, K>>;
};

export type RouteHandler<P extends string, D> = Handler<ApiEnv, P, { out: ValidOutput<D> }>;

type AddRoute = <const P extends string, const D extends RouteDeclaration>(
  path: P,
  declaration: D,
  handler: RouteHandler<P, D>,
) => ApiRoutes;

/** A resource's sub-app and the methods that declare its routes; `app` is what `app.route()` mounts. */
export interface ApiRoutes {
  app: Hono<ApiEnv>;
  get: AddRoute;
  post: AddRoute;
  put: AddRoute;
  patch: AddRoute;
  delete: AddRoute;
}

/**
 * Declares a resource's routes on `app` (a new sub-app unless given): each is checked (scope, then inputs)
 * and documented from its declaration over `defaults`, and its handler reads the parsed inputs with
 * `c.req.valid("param" | "query" | "json")`.
 *
 * @example
 * const routes = apiRoutes(deps.keys, { tags: ["jobs"], scope: ["read", "commands"] });
 * routes.get(
 *   "/:id",
 *   { summary: "One job", ok: ["The job", JobAnswer], param: JobParams, errors: [404] },
 *   async (c) => c.json({ job: await show(c.req.valid("param").id) }, 200),
 * );
 * app.route("/v1/jobs", routes.app);
 */
export function apiRoutes(
  keys: ApiKeyStore,
  defaults: ResourceDefaults,
  app = new Hono<ApiEnv>(),
): ApiRoutes {
  const add =
    (method: string): AddRoute =>
    (path, declaration, handler) => {
      const route = { ...defaults, ...declaration };
      // The handler's input is typed from the declaration (AddRoute); Hono cannot infer it from a
      // middleware list built at run time, so it is registered as a plain handler.
      app.on(method, path, ...middleware(keys, route), handler as Handler);
      return routes;
    };
  const routes: ApiRoutes = {
    app,
    get: add("GET"),
    post: add("POST"),
    put: add("PUT"),
    patch: add("PATCH"),
    delete: add("DELETE"),
  };
  return routes;
}

/** What runs before the handler, in the order a caller's mistakes are answered: key, path, query, body. */
function middleware(
  keys: ApiKeyStore,
  declaration: RouteDeclaration & ResourceDefaults,
): [MiddlewareHandler, ...MiddlewareHandler[]] {
  const { param, query, json, maxBodyBytes: max } = declaration;
  return [
    requireScope<ApiEnv>(keys, declaration.scope),
    ...(param ? [validate("param", param)] : []),
    ...(query ? [validate("query", query)] : []),
    ...(json && max ? [bodyLimit({ maxSize: max, onError: (c) => tooLarge(c, max) })] : []),
    ...(json
      ? [jsonObjectBody({ optional: declaration.optionalBody ?? false }), validate("json", json)]
      : []),
    // Last: hono-openapi merges an operation's parts in order, so this `requestBody` overrides the
    // validator's "required" for an optional body. It does nothing at run time.
    describeRoute(documentation(declaration)),
  ];
}

/** The operation's text and answers; its parameters and body come from the validators. */
function documentation(declaration: RouteDeclaration & ResourceDefaults) {
  const [description, body, status = 200] = declaration.ok;
  return {
    tags: [...declaration.tags],
    summary: declaration.summary,
    ...(declaration.description ? { description: declaration.description } : {}),
    ...(declaration.optionalBody ? { requestBody: { required: false, content: {} } } : {}),
    responses: {
      [String(status)]: { description, content: jsonContent(body) },
      ...problems(...errorStatuses(declaration)),
    },
  };
}

/**
 * The errors a declaration implies, besides 401/403 (the scope) and 503 (the deadline, a store's outage),
 * which every route can answer: 400 for a bad path or query value or a body that is not a JSON object,
 * 413/415/422 for a body too large, not sent as JSON, or with an invalid field.
 */
function errorStatuses({ param, query, json, errors = [] }: RouteDeclaration): number[] {
  return [...(param || query || json ? [400] : []), ...(json ? [413, 415, 422] : []), ...errors];
}
