import { type Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import { TransientError } from "../../core/errors.ts";
import { DEFAULT_LIMIT } from "../../core/schemas/api.ts";
import { FANOUT_TYPES, WebhookParams, WebhookRequest } from "../../core/schemas/webhooks.ts";
import { createSubscription, subscriptionView } from "../../core/webhooks/manage.ts";
import type { WebhookStore } from "../../core/webhooks/subscription.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { jsonObjectBody } from "../../http/json-body.ts";
import { problemResponse } from "../../http/problems.ts";
import { validate } from "../../http/validate.ts";
import { jsonContent, problems } from "../route-kit.ts";
import type { ApiDeps, ApiEnv } from "../types.ts";

/** Where a subscription can be read back; also the `Location` of a 201. */
export const webhookPath = (id: string) => `/v1/webhooks/${id}`;

const WebhookView = v.object({
  id: v.string(),
  url: v.string(),
  types: v.array(v.picklist(FANOUT_TYPES)),
  sn: v.optional(v.string()),
  status: v.picklist(["active", "failing"]),
  createdAt: v.string(),
  delivered: v.number(),
  failedAttempts: v.number(),
  deadLettered: v.number(),
  consecutiveFailures: v.number(),
  lastSuccessAt: v.optional(v.string()),
  lastError: v.optional(v.string()),
  lastErrorAt: v.optional(v.string()),
});
const WebhookAnswer = v.object({ webhook: WebhookView });
const CreatedAnswer = v.object({
  webhook: WebhookView,
  secret: v.pipe(v.string(), v.description("whsec_...: shown here only; sign checks use it")),
});
const WebhookList = v.object({ items: v.array(WebhookView) });
const DeadLetterList = v.object({
  items: v.array(
    v.object({
      eventId: v.string(),
      body: v.string(),
      attempts: v.number(),
      lastError: v.string(),
      firstAttemptAt: v.string(),
      deadLetteredAt: v.string(),
    }),
  ),
});

type WebhookApp = Hono<ApiEnv>;

/**
 * `/v1/webhooks[/{id}[/dead-letters]]`, scope `admin`: signed HTTP deliveries of the fan-out events
 * (README "Webhooks"). Without a store (`deps.webhooks` unset) every route answers 503.
 */
export function webhookRoutes(deps: ApiDeps): WebhookApp {
  const app = new Hono<ApiEnv>();
  const store = (): WebhookStore => {
    if (!deps.webhooks) throw new TransientError("webhooks are not configured on this API");
    return deps.webhooks;
  };
  createWebhook(app, deps, store);
  listWebhooks(app, deps, store);
  readWebhook(app, deps, store);
  deleteWebhook(app, deps, store);
  listDeadLetters(app, deps, store);
  return app;
}

function createWebhook(app: WebhookApp, deps: ApiDeps, store: () => WebhookStore) {
  app.post(
    "/",
    describeRoute({
      tags: ["webhooks"],
      summary: "Subscribe a URL to events; the answer holds its signing secret, shown only once",
      responses: {
        "201": { description: "Created", content: jsonContent(CreatedAnswer) },
        ...problems(400, 413, 415, 422),
      },
    }),
    requireScope(deps.keys, "admin"),
    jsonObjectBody(),
    validate("json", WebhookRequest),
    async (c) => {
      const subscription = await createSubscription(
        { webhooks: store(), clock: deps.clock },
        c.req.valid("json"),
      );
      const body = { webhook: subscriptionView(subscription), secret: subscription.secret };
      return c.json(body, 201, { location: webhookPath(subscription.id) });
    },
  );
}

function listWebhooks(app: WebhookApp, deps: ApiDeps, store: () => WebhookStore) {
  app.get(
    "/",
    describeRoute({
      tags: ["webhooks"],
      summary: "Every subscription with its status (active or failing), counts and last error",
      responses: {
        "200": { description: "The subscriptions", content: jsonContent(WebhookList) },
        ...problems(),
      },
    }),
    requireScope(deps.keys, "admin"),
    async (c) => c.json({ items: (await store().list()).map(subscriptionView) }, 200),
  );
}

function readWebhook(app: WebhookApp, deps: ApiDeps, store: () => WebhookStore) {
  app.get(
    "/:id",
    describeOneWebhook("One subscription (never its secret)", "The subscription", WebhookAnswer),
    requireScope(deps.keys, "admin"),
    validate("param", WebhookParams),
    async (c) => {
      const { id } = c.req.valid("param");
      const subscription = await store().get(id);
      if (!subscription) return unknownWebhook(c, id);
      return c.json({ webhook: subscriptionView(subscription) }, 200);
    },
  );
}

function deleteWebhook(app: WebhookApp, deps: ApiDeps, store: () => WebhookStore) {
  app.delete(
    "/:id",
    describeOneWebhook(
      "Stop delivering to a subscription (retries in flight are dropped); answers what it was",
      "Deleted",
      WebhookAnswer,
    ),
    requireScope(deps.keys, "admin"),
    validate("param", WebhookParams),
    async (c) => {
      const { id } = c.req.valid("param");
      const subscription = await store().get(id);
      if (!subscription || !(await store().delete(id))) return unknownWebhook(c, id);
      return c.json({ webhook: subscriptionView(subscription) }, 200);
    },
  );
}

function listDeadLetters(app: WebhookApp, deps: ApiDeps, store: () => WebhookStore) {
  app.get(
    "/:id/dead-letters",
    describeOneWebhook(
      `Events not delivered within the retry budget, newest first (the last ${DEFAULT_LIMIT}, kept 14 days)`,
      "Dead letters",
      DeadLetterList,
    ),
    requireScope(deps.keys, "admin"),
    validate("param", WebhookParams),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!(await store().get(id))) return unknownWebhook(c, id);
      const letters = await store().listDeadLetters(id, DEFAULT_LIMIT);
      return c.json({ items: letters.map(({ subscriptionId: _id, ...letter }) => letter) }, 200);
    },
  );
}

/** The OpenAPI text of a route on one subscription: 200 with `answer`, 400 for a bad id, 404 for an unknown one. */
function describeOneWebhook(summary: string, description: string, answer: v.GenericSchema) {
  return describeRoute({
    tags: ["webhooks"],
    summary,
    responses: { "200": { description, content: jsonContent(answer) }, ...problems(400, 404) },
  });
}

const unknownWebhook = (c: Context<ApiEnv>, id: string) =>
  problemResponse(c, "not_found", `no webhook '${id}'`);
