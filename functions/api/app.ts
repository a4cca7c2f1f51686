import { type Context, Hono } from "hono";
import type { LambdaContext } from "hono/aws-lambda";
import { StoreRejectedError } from "../adapters/aws-errors.ts";
import { createCommand } from "../core/commands/create-command.ts";
import { withDeadline } from "../core/deadline.ts";
import { InvalidInputError } from "../core/errors.ts";
import { bearerAuth } from "../http/bearer-auth.ts";
import { failureResponse, notFound } from "./answers.ts";
import { parseCommandId, parseCommandRequest, parseListQuery, parseSn } from "./request.ts";
import type { ApiDeps, ApiOptions } from "./types.ts";
import { publicCommand } from "./view.ts";

const DEFAULT_DEADLINE_MS = 8_000;
/** Time kept back from Lambda's remaining time to write the answer. */
const ANSWER_MARGIN_MS = 1_000;

type Env = { Bindings: { lambdaContext?: LambdaContext } };

/** Where a command can be read back; also the `Location` of a 202. */
export const commandPath = (sn: string, id: string) => `/v1/devices/${sn}/commands/${id}`;

/**
 * The commands API for operators and applications. Every route needs `Authorization: Bearer <api key>`.
 *
 * - `POST /v1/devices/{sn}/commands` `{"op","data"?,"id"?,"ttlSeconds"?}` → 202 `{"command"}`, idempotent on `id`
 * - `GET /v1/devices/{sn}/commands/{id}` → 200 `{"command"}` | 404
 * - `GET /v1/devices/{sn}/commands?status=&limit=&cursor=` → 200 `{"items","cursor"?}`
 *
 * Errors are `application/problem+json` naming the `field`; 409 for an id reused with another body;
 * 503 + `Retry-After` for outages and for anything unexpected (never 500).
 *
 * @example
 * const app = createApiApp(createAwsDeps(config), { apiKeys: config.API_KEYS, logger });
 * await serveApp(app.fetch); // or `handle(app)` on Lambda
 */
export function createApiApp(deps: ApiDeps, options: ApiOptions) {
  const app = new Hono<Env>();
  const log = options.logger;
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;

  /** Runs a route's work within the deadline and maps whatever it throws to a problem answer. */
  const guarded = async (c: Context<Env>, work: () => Promise<Response>): Promise<Response> => {
    const budget = Math.min(deadlineMs, remaining(c.env?.lambdaContext) - ANSWER_MARGIN_MS);
    try {
      return await withDeadline(work(), budget);
    } catch (error) {
      return failureResponse(c, error, log);
    }
  };

  app.use("*", bearerAuth(options.apiKeys));

  app.post("/v1/devices/:sn/commands", (c) =>
    guarded(c, async () => {
      const sn = parseSn(c.req.param("sn"));
      const request = parseCommandRequest(await c.req.text());
      const { command, created } = await createCommand(deps, sn, request);
      log.info(created ? "command created" : "command replayed", { sn, id: command.id, op: command.op });
      // 202 for a replay too: the client sees the same answer whichever attempt got through.
      return c.json({ command: publicCommand(command) }, 202, { location: commandPath(sn, command.id) });
    }),
  );

  app.get("/v1/devices/:sn/commands/:id", (c) =>
    guarded(c, async () => {
      const sn = parseSn(c.req.param("sn"));
      const id = parseCommandId(c.req.param("id"));
      const command = await deps.commands.get(sn, id);
      if (!command) return notFound(c, `device '${sn}' has no command '${id}'`);
      return c.json({ command: publicCommand(command) }, 200);
    }),
  );

  app.get("/v1/devices/:sn/commands", (c) =>
    guarded(c, async () => {
      const sn = parseSn(c.req.param("sn"));
      const { status, limit, cursor } = parseListQuery(c.req.query());
      try {
        const page = status
          ? await deps.commands.listByStatus(sn, status, limit, cursor)
          : await deps.commands.listByDevice(sn, limit, cursor);
        return c.json(
          { items: page.items.map(publicCommand), ...(page.cursor ? { cursor: page.cursor } : {}) },
          200,
        );
      } catch (error) {
        // The store checks a cursor's partition but not its exact key shape (e.g. a by-status cursor of
        // the same device); DynamoDB then refuses the start key, which is the client's cursor at fault.
        if (cursor && error instanceof StoreRejectedError) {
          throw new InvalidInputError(400, "cursor", "cursor is not one this API returned for this query");
        }
        throw error;
      }
    }),
  );

  app.notFound((c) => notFound(c, `no route for ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => failureResponse(c, error, log));
  return app;
}

function remaining(context: LambdaContext | undefined): number {
  return context?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY;
}
