import type { Context } from "hono";
import * as v from "valibot";
import { TransientError } from "../../core/errors.ts";
import { DEFAULT_LIMIT } from "../../core/schemas/api.ts";
import { FANOUT_TYPES, WebhookParams, WebhookRequest } from "../../core/schemas/webhooks.ts";
import { createSubscription, subscriptionView } from "../../core/webhooks/manage.ts";
import type { WebhookStore } from "../../core/webhooks/subscription.ts";
import { problemResponse } from "../../http/problems.ts";
import { type ApiRoutes, apiRoutes, type ResourceDefaults } from "../declare-route.ts";
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

type Store = () => WebhookStore;

const WEBHOOKS: ResourceDefaults = { tags: ["webhooks"], scope: "admin" };
const DEAD_LETTERS_SUMMARY = `Events not delivered within the retry budget, newest first (the last ${DEFAULT_LIMIT}, kept 14 days)`;

/**
 * `/v1/webhooks[/{id}[/dead-letters]]`, scope `admin`: signed HTTP deliveries of the fan-out events
 * (README "Webhooks"). Without a store (`deps.webhooks` unset) every route answers 503.
 */
export function webhookRoutes(deps: ApiDeps) {
  const routes = apiRoutes(deps.keys, WEBHOOKS);
  const store = (): WebhookStore => {
    if (!deps.webhooks) throw new TransientError("webhooks are not configured on this API");
    return deps.webhooks;
  };
  createWebhook(routes, deps, store);
  const summary = "Every subscription with its status (active or failing), counts and last error";
  routes.get("/", { summary, ok: ["The subscriptions", WebhookList] }, async (c) =>
    c.json({ items: (await store().list()).map(subscriptionView) }, 200),
  );
  oneWebhookRoutes(routes, store);
  return routes.app;
}

function createWebhook(routes: ApiRoutes, deps: ApiDeps, store: Store) {
  const summary = "Subscribe a URL to events; the answer holds its signing secret, shown only once";
  const ok = ["Created", CreatedAnswer, 201] as const;
  routes.post("/", { summary, ok, json: WebhookRequest }, async (c) => {
    const subscription = await createSubscription(
      { webhooks: store(), clock: deps.clock },
      c.req.valid("json"),
    );
    const body = { webhook: subscriptionView(subscription), secret: subscription.secret };
    return c.json(body, 201, { location: webhookPath(subscription.id) });
  });
}

/** The routes on one subscription: 400 for a malformed id, 404 for an unknown one. */
function oneWebhookRoutes(routes: ApiRoutes, store: Store) {
  const one = { param: WebhookParams, errors: [404] } as const;
  routes.get(
    "/:id",
    { summary: "One subscription (never its secret)", ok: ["The subscription", WebhookAnswer], ...one },
    async (c) => {
      const { id } = c.req.valid("param");
      const subscription = await store().get(id);
      if (!subscription) return unknownWebhook(c, id);
      return c.json({ webhook: subscriptionView(subscription) }, 200);
    },
  );
  const summary = "Stop delivering to a subscription (retries in flight are dropped); answers what it was";
  routes.delete("/:id", { summary, ok: ["Deleted", WebhookAnswer], ...one }, async (c) => {
    const { id } = c.req.valid("param");
    const subscription = await store().get(id);
    if (!subscription || !(await store().delete(id))) return unknownWebhook(c, id);
    return c.json({ webhook: subscriptionView(subscription) }, 200);
  });
  const letters = { summary: DEAD_LETTERS_SUMMARY, ok: ["Dead letters", DeadLetterList], ...one } as const;
  routes.get("/:id/dead-letters", letters, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await store().get(id))) return unknownWebhook(c, id);
    const letters = await store().listDeadLetters(id, DEFAULT_LIMIT);
    return c.json({ items: letters.map(({ subscriptionId: _id, ...letter }) => letter) }, 200);
  });
}

const unknownWebhook = (c: Context<ApiEnv>, id: string) =>
  problemResponse(c, "not_found", `no webhook '${id}'`);
