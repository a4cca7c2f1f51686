import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { openAPIRouteHandler } from "hono-openapi";
import { MAX_COMMAND_PAYLOAD_BYTES } from "../core/commands/envelope.ts";
import { requireScope } from "../http/api-key-auth.ts";
import { deadline } from "../http/deadline.ts";
import { answerErrors } from "../http/on-error.ts";
import { problemResponse, tooLarge } from "../http/problems.ts";
import { LIVE_PATH, liveRoutes } from "./live-page.ts";
import { MQTT_REQUESTS_PATH, mqttRequestRoutes } from "./mqtt-requests/route.ts";
import { referencePage } from "./reference-page.ts";
import { DEFAULT_DEADLINE_MS } from "./route-kit.ts";
import { commandRoutes } from "./routes/commands.ts";
import { deviceTransportRoutes } from "./routes/device-transport.ts";
import { deviceRoutes, userRoutes } from "./routes/devices.ts";
import { deviceGapRoutes, fleetGapRoutes } from "./routes/gaps.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { quarantineRoutes, replayRoutes } from "./routes/operations.ts";
import { shadowRoutes } from "./routes/shadow.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "./types.ts";

export { commandPath } from "./routes/commands.ts";

export const OPENAPI_PATH = "/v1/openapi.json";
export const REFERENCE_PATH = "/v1/docs";

/** Largest request body: the publisher fails any command whose MQTT payload is larger anyway. */
export const MAX_BODY_BYTES = MAX_COMMAND_PAYLOAD_BYTES;

/**
 * The operations API for applications and operators. Every route but the OpenAPI document and its
 * reference page needs `Authorization: Bearer <api key>` with a scope: `read` (devices, attendance,
 * commands), `commands` (send and read commands), `admin` (everything, plus quarantine and replay).
 * Errors are RFC 9457 problem documents naming the field; 503 + `Retry-After` for outages, never 500.
 * Each resource is a sub-app (routes/*.ts) whose routes validate every input with its schema
 * (`validate()`), which also documents it; whatever a route throws is answered by the one `onError`.
 *
 * @example
 * const app = createApiApp(createApiDeps(config), { logger });
 * export const handler = handle(app); // or serveApp(app.fetch) locally
 */
export function createApiApp(deps: ApiDeps, options: ApiOptions) {
  const app = new Hono<ApiEnv>();
  // Before the body limit, which it would otherwise share: a rule event is larger than the request it carries.
  if (deps.appRequests)
    app.route(MQTT_REQUESTS_PATH, mqttRequestRoutes(deps.appRequests, options, app.fetch));
  // Counted while the body streams in: a 200 MB body is refused at 256 KiB, never held in memory.
  app.use("*", bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => tooLarge(c, MAX_BODY_BYTES) }));
  app.use("*", deadline(options.deadlineMs ?? DEFAULT_DEADLINE_MS));
  app.route("/v1/devices/:sn/commands", commandRoutes(deps, options));
  app.route("/v1/devices/:sn/gaps", deviceGapRoutes(deps));
  app.route("/v1/gaps", fleetGapRoutes(deps));
  app.route("/v1/devices/:sn/shadow", shadowRoutes(deps, options));
  app.route("/v1/devices/:sn/transport", deviceTransportRoutes(deps));
  app.route("/v1/devices", deviceRoutes(deps, options));
  app.route("/v1/users", userRoutes(deps));
  app.route("/v1/quarantine", quarantineRoutes(deps));
  app.route("/v1/replay", replayRoutes(deps, options));
  app.route("/v1/webhooks", webhookRoutes(deps));
  app.route("/v1/jobs", jobRoutes(deps));
  app.route(LIVE_PATH, liveRoutes({ brokerWsUrl: options.liveBrokerWsUrl }));
  app.get(OPENAPI_PATH, openApiDocument(app));
  app.get(REFERENCE_PATH, (c) => c.html(referencePage(OPENAPI_PATH)));
  // An unknown path tells an anonymous caller nothing either: 401 first, 404 only with a valid key.
  const anyKey = requireScope<ApiEnv>(deps.keys, ["read", "commands", "admin"]);
  app.notFound(async (c) => {
    const denied = await anyKey(c, async () => undefined);
    return denied ?? problemResponse(c, "not_found", `no route for ${c.req.method} ${c.req.path}`);
  });
  app.onError(answerErrors({ logger: options.logger }));
  return app;
}

/** The OpenAPI document, generated from the routes' validators and descriptions. */
function openApiDocument(app: Hono<ApiEnv>) {
  return openAPIRouteHandler(app, {
    documentation: {
      openapi: "3.1.0",
      info: {
        title: "emqx-serverless-bridge API",
        version: "1.0.0",
        description: "Commands to devices, presence, attendance, quarantine and replay.",
      },
      components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } } },
      security: [{ apiKey: [] }],
    },
    exclude: [OPENAPI_PATH, REFERENCE_PATH, new RegExp(`^${LIVE_PATH}(/|$)`)],
    // Every route documents its own 400 as a problem; hono-openapi's default one is another shape.
    defaultValidationErrorResponse: false,
  });
}
