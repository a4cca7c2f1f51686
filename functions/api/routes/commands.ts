import { createCommand } from "../../core/commands/create-command.ts";
import { CommandListQuery, CommandParams, SnParams } from "../../core/schemas/api.ts";
import { CommandRequest } from "../../core/schemas/command.ts";
import { problemResponse } from "../../http/problems.ts";
import { type ApiRoutes, apiRoutes, type ResourceDefaults } from "../declare-route.ts";
import { PAGED_ROUTES } from "../route-cursor.ts";
import { page, paging } from "../route-kit.ts";
import { CommandAnswer, CommandPage } from "../schemas.ts";
import type { ApiDeps, ApiOptions } from "../types.ts";
import { publicCommand } from "../views.ts";

/** Where a command can be read back; also the `Location` of a 202. */
export const commandPath = (sn: string, id: string) => `/v1/devices/${sn}/commands/${id}`;

/** Reading needs `read` or `commands`; sending, `commands`. */
const COMMANDS: ResourceDefaults = { tags: ["commands"], scope: ["read", "commands"] };

/** `/v1/devices/{sn}/commands[/{id}]`: scope `commands` to send, `read` or `commands` to read. */
export function commandRoutes(deps: ApiDeps, options: ApiOptions) {
  const routes = apiRoutes(deps.keys, COMMANDS);
  sendCommand(routes, deps, options);
  routes.get(
    "/:id",
    {
      summary: "One command and its status",
      ok: ["The command", CommandAnswer],
      param: CommandParams,
      errors: [404],
    },
    async (c) => {
      const { sn, id } = c.req.valid("param");
      const command = await deps.commands.get(sn, id);
      if (!command) return problemResponse(c, "not_found", `device '${sn}' has no command '${id}'`);
      return c.json({ command: publicCommand(command) }, 200);
    },
  );
  listCommands(routes, deps);
  return routes.app;
}

function sendCommand(routes: ApiRoutes, deps: ApiDeps, options: ApiOptions) {
  const summary = "Send a command to a device (idempotent on id)";
  const ok = ["Stored and queued (or the same command again)", CommandAnswer, 202] as const;
  const inputs = { scope: "commands", param: SnParams, json: CommandRequest } as const;
  routes.post("/", { summary, ok, ...inputs, errors: [409] }, async (c) => {
    const { sn } = c.req.valid("param");
    const { command, created } = await createCommand(deps, sn, c.req.valid("json"));
    const fields = { sn, id: command.id, op: command.op };
    options.logger.debug(created ? "command created" : "command replayed", fields);
    // 202 for a replay too: the client sees the same answer whichever attempt got through.
    return c.json({ command: publicCommand(command) }, 202, { location: commandPath(sn, command.id) });
  });
}

function listCommands(routes: ApiRoutes, deps: ApiDeps) {
  const summary = "A device's commands; with status, oldest first";
  const ok = ["A page of commands", CommandPage] as const;
  routes.get("/", { summary, ok, param: SnParams, query: CommandListQuery }, async (c) => {
    const { sn } = c.req.valid("param");
    const { status, ...query } = c.req.valid("query");
    const { limit, cursor } = paging(PAGED_ROUTES.commands, query);
    const result = status
      ? await deps.commands.listByStatus(sn, status, limit, cursor)
      : await deps.commands.listByDevice(sn, limit, cursor);
    return c.json(page(PAGED_ROUTES.commands, result.items.map(publicCommand), result.cursor), 200);
  });
}
