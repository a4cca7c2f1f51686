/**
 * The slice of EMQX's management API the bridge uses (docs/emqx.md §8, §9.1, §11.4): publish, bulk publish,
 * client lookup, kicking a client and clearing authorization caches, behind Basic auth with an API key and
 * secret.
 */
import { timingSafeEqual } from "node:crypto";
import { type Context, Hono } from "hono";
import { type ApiPublisher, isReply, type Prepared, prepare, type Reply } from "./publish.ts";
import type { Sessions } from "./sessions.ts";

export interface ApiDeps {
  key: string;
  secret: string;
  publisher: ApiPublisher;
  sessions: Sessions;
  /** Live subscriptions of a connected client, for `subscriptions_cnt`. */
  subscriptionsCount(clientid: string): number;
  /** Disconnects a connected client, or drops a kept session; false when there is neither. */
  kick(clientid: string): boolean;
}

/** The Hono app serving `/api/v5/...`. */
export function createApiApp(deps: ApiDeps): Hono {
  const app = new Hono().basePath("/api/v5");
  app.use("*", async (c, next) => {
    if (!authorized(c.req.header("authorization"), deps)) {
      return c.json({ code: "BAD_API_KEY_OR_SECRET", message: "Check api_key/api_secret" }, 401);
    }
    await next();
  });
  app.post("/publish", async (c) => {
    const body = await readJson(c);
    if (body === INVALID || Array.isArray(body)) return badRequest(c, "body must be a JSON object");
    const prepared = prepare(body);
    return send(c, isReply(prepared) ? prepared : await deps.publisher.publish(prepared));
  });
  app.post("/publish/bulk", async (c) => {
    const body = await readJson(c);
    if (!Array.isArray(body)) return badRequest(c, "body must be a JSON array");
    // EMQX 5.8.9 / master crash on an empty batch (a typo in the error tuple), hence a 500 (docs/emqx.md §8.3).
    if (body.length === 0) return c.json({ code: "INTERNAL_ERROR", message: "empty_batch" }, 500);
    const prepared = body.map((item, index) => prepare(item, `[${index}].`));
    const invalid = prepared.find(isReply);
    if (invalid) return send(c, invalid);
    const replies: Reply[] = [];
    for (const item of prepared as Prepared[]) replies.push(await deps.publisher.publish(item));
    return c.json(
      replies.map((reply) => reply.body),
      bulkStatus(replies),
    );
  });
  app.get("/clients/:clientid", (c) => {
    const clientid = c.req.param("clientid");
    const client = deps.sessions.describe(clientid, deps.subscriptionsCount(clientid));
    if (!client) return clientNotFound(c);
    return c.json(client, 200);
  });
  app.delete("/clients/:clientid", (c) => {
    if (!deps.kick(c.req.param("clientid"))) return clientNotFound(c);
    return c.body(null, 204);
  });
  // The stand-in caches no authorization decision (a connection's ACL cannot change while it lives, and
  // acl.conf is read once), so clearing is a no-op that answers as EMQX does.
  app.delete("/authorization/cache", (c) => c.body(null, 204));
  app.delete("/clients/:clientid/authorization/cache", (c) => {
    if (!deps.sessions.describe(c.req.param("clientid"), 0)) return clientNotFound(c);
    return c.body(null, 204);
  });
  app.notFound((c) => c.json({ code: "NOT_FOUND", message: "Request Path Not Found" }, 404));
  return app;
}

const INVALID = Symbol("invalid JSON");

async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    return INVALID;
  }
}

function clientNotFound(c: Context) {
  return c.json({ code: "CLIENTID_NOT_FOUND", message: "Client ID not found" }, 404);
}

function badRequest(c: Context, message: string) {
  return c.json({ code: "BAD_REQUEST", message }, 400);
}

function send(c: Context, reply: Reply) {
  return c.json(reply.body, reply.status);
}

/** 503 if any message failed to dispatch, else 202 if any had no subscriber, else 200. */
function bulkStatus(replies: Reply[]): 200 | 202 | 503 {
  if (replies.some((reply) => reply.status === 503)) return 503;
  return replies.some((reply) => reply.status === 202) ? 202 : 200;
}

function authorized(header: string | undefined, deps: Pick<ApiDeps, "key" | "secret">): boolean {
  const match = /^Basic\s+(.+)$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(Buffer.from(match[1] as string, "base64").toString("utf8"));
  const expected = Buffer.from(`${deps.key}:${deps.secret}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
