import type { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { Scope } from "../../core/api-keys.ts";
import { createCommand } from "../../core/commands/create-command.ts";
import { CommandRequest, CommandStatus } from "../../core/schemas/command.ts";
import { parseOrReject } from "../../core/validation.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { notFound } from "../answers.ts";
import { parseCommandId, parseCommandRequest } from "../request.ts";
import { PAGED_ROUTES } from "../route-cursor.ts";
import { guard, jsonContent, page, paging, pagingParams, param, parseSn, problems } from "../route-kit.ts";
import { CommandAnswer, CommandPage } from "../schemas.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";
import { publicCommand } from "../views.ts";

/** Where a command can be read back; also the `Location` of a 202. */
export const commandPath = (sn: string, id: string) => `/v1/devices/${sn}/commands/${id}`;

const sn = param("sn", "path", "device serial number");

/** `POST/GET /v1/devices/{sn}/commands[/{id}]`: scope `commands` to send, `read` or `commands` to read. */
export function registerCommandRoutes(app: Hono<ApiEnv>, deps: ApiDeps, options: ApiOptions) {
  const guarded = guard(options);
  const log = options.logger;

  app.post(
    "/v1/devices/:sn/commands",
    describeRoute({
      tags: ["commands"],
      summary: "Send a command to a device (idempotent on id)",
      parameters: [sn],
      requestBody: { required: true, content: jsonContent(CommandRequest) },
      responses: {
        "202": {
          description: "Stored and queued (or the same command again)",
          content: jsonContent(CommandAnswer),
        },
        ...problems(400, 409, 413, 422),
      },
    }),
    requireScope(deps.keys, "commands"),
    (c) =>
      guarded(c, async () => {
        const device = parseSn(c.req.param("sn"));
        const request = parseCommandRequest(await c.req.text());
        const { command, created } = await createCommand(deps, device, request);
        log.debug(created ? "command created" : "command replayed", {
          sn: device,
          id: command.id,
          op: command.op,
        });
        // 202 for a replay too: the client sees the same answer whichever attempt got through.
        return c.json({ command: publicCommand(command) }, 202, {
          location: commandPath(device, command.id),
        });
      }),
  );

  app.get(
    "/v1/devices/:sn/commands/:id",
    describeRoute({
      tags: ["commands"],
      summary: "One command and its status",
      parameters: [sn, param("id", "path", "command id")],
      responses: {
        "200": { description: "The command", content: jsonContent(CommandAnswer) },
        ...problems(400, 404),
      },
    }),
    requireScope(deps.keys, ["read", "commands"] as const satisfies Scope[]),
    (c) =>
      guarded(c, async () => {
        const device = parseSn(c.req.param("sn"));
        const id = parseCommandId(c.req.param("id"));
        const command = await deps.commands.get(device, id);
        if (!command) return notFound(c, `device '${device}' has no command '${id}'`);
        return c.json({ command: publicCommand(command) }, 200);
      }),
  );

  app.get(
    "/v1/devices/:sn/commands",
    describeRoute({
      tags: ["commands"],
      summary: "A device's commands; with status, oldest first",
      parameters: [
        sn,
        param("status", "query", "queued|pending|sent|delivered|acked|failed|expired"),
        ...pagingParams,
      ],
      responses: {
        "200": { description: "A page of commands", content: jsonContent(CommandPage) },
        ...problems(400),
      },
    }),
    requireScope(deps.keys, ["read", "commands"] as const satisfies Scope[]),
    (c) =>
      guarded(c, async () => {
        const device = parseSn(c.req.param("sn"));
        const query = c.req.query();
        const status =
          query.status === undefined ? undefined : parseOrReject(CommandStatus, query.status, "status", 400);
        const { limit, cursor } = paging(PAGED_ROUTES.commands, query);
        const result = status
          ? await deps.commands.listByStatus(device, status, limit, cursor)
          : await deps.commands.listByDevice(device, limit, cursor);
        return c.json(page(PAGED_ROUTES.commands, result.items.map(publicCommand), result.cursor), 200);
      }),
  );
}
