import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { Scope } from "../../core/api-keys.ts";
import { createCommand } from "../../core/commands/create-command.ts";
import { CommandListQuery, CommandParams, SnParams } from "../../core/schemas/api.ts";
import { CommandRequest } from "../../core/schemas/command.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { jsonObjectBody } from "../../http/json-body.ts";
import { problemResponse } from "../../http/problems.ts";
import { validate } from "../../http/validate.ts";
import { PAGED_ROUTES } from "../route-cursor.ts";
import { jsonContent, page, paging, problems } from "../route-kit.ts";
import { CommandAnswer, CommandPage } from "../schemas.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";
import { publicCommand } from "../views.ts";

/** Where a command can be read back; also the `Location` of a 202. */
export const commandPath = (sn: string, id: string) => `/v1/devices/${sn}/commands/${id}`;

const READERS = ["read", "commands"] as const satisfies Scope[];

type CommandApp = Hono<ApiEnv>;

/** `/v1/devices/{sn}/commands[/{id}]`: scope `commands` to send, `read` or `commands` to read. */
export function commandRoutes(deps: ApiDeps, options: ApiOptions): CommandApp {
  const app = new Hono<ApiEnv>();
  sendCommand(app, deps, options);
  readCommand(app, deps);
  listCommands(app, deps);
  return app;
}

function sendCommand(app: CommandApp, deps: ApiDeps, options: ApiOptions) {
  app.post(
    "/",
    describeRoute({
      tags: ["commands"],
      summary: "Send a command to a device (idempotent on id)",
      responses: {
        "202": {
          description: "Stored and queued (or the same command again)",
          content: jsonContent(CommandAnswer),
        },
        ...problems(400, 409, 413, 415, 422),
      },
    }),
    requireScope(deps.keys, "commands"),
    validate("param", SnParams),
    jsonObjectBody(),
    validate("json", CommandRequest),
    async (c) => {
      const { sn } = c.req.valid("param");
      const { command, created } = await createCommand(deps, sn, c.req.valid("json"));
      const fields = { sn, id: command.id, op: command.op };
      options.logger.debug(created ? "command created" : "command replayed", fields);
      // 202 for a replay too: the client sees the same answer whichever attempt got through.
      return c.json({ command: publicCommand(command) }, 202, { location: commandPath(sn, command.id) });
    },
  );
}

function readCommand(app: CommandApp, deps: ApiDeps) {
  app.get(
    "/:id",
    describeRoute({
      tags: ["commands"],
      summary: "One command and its status",
      responses: {
        "200": { description: "The command", content: jsonContent(CommandAnswer) },
        ...problems(400, 404),
      },
    }),
    requireScope(deps.keys, READERS),
    validate("param", CommandParams),
    async (c) => {
      const { sn, id } = c.req.valid("param");
      const command = await deps.commands.get(sn, id);
      if (!command) return problemResponse(c, "not_found", `device '${sn}' has no command '${id}'`);
      return c.json({ command: publicCommand(command) }, 200);
    },
  );
}

function listCommands(app: CommandApp, deps: ApiDeps) {
  app.get(
    "/",
    describeRoute({
      tags: ["commands"],
      summary: "A device's commands; with status, oldest first",
      responses: {
        "200": { description: "A page of commands", content: jsonContent(CommandPage) },
        ...problems(400),
      },
    }),
    requireScope(deps.keys, READERS),
    validate("param", SnParams),
    validate("query", CommandListQuery),
    async (c) => {
      const { sn } = c.req.valid("param");
      const { status, ...query } = c.req.valid("query");
      const { limit, cursor } = paging(PAGED_ROUTES.commands, query);
      const result = status
        ? await deps.commands.listByStatus(sn, status, limit, cursor)
        : await deps.commands.listByDevice(sn, limit, cursor);
      return c.json(page(PAGED_ROUTES.commands, result.items.map(publicCommand), result.cursor), 200);
    },
  );
}
