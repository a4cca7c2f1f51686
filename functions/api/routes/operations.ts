import type { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type * as v from "valibot";
import { InvalidInputError } from "../../core/errors.ts";
import { replayAttendance } from "../../core/replay.ts";
import { SerialNumber } from "../../core/schemas/common.ts";
import { parseWindow } from "../../core/time-window.ts";
import { parseJson, parseOrReject } from "../../core/validation.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { PAGED_ROUTES, routeCursor, storeCursor } from "../route-cursor.ts";
import { guard, jsonContent, page, paging, pagingParams, param, problems } from "../route-kit.ts";
import { QuarantinePage, ReplayAnswer, ReplayRequestSchema } from "../schemas.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DEFAULT_REPLAY_PAGE = 500;

/** The quarantine and replays, scope `admin`. */
export function registerOperationRoutes(app: Hono<ApiEnv>, deps: ApiDeps, options: ApiOptions) {
  const guarded = guard(options);
  const admin = requireScope(deps.keys, "admin");

  app.get(
    "/v1/quarantine",
    describeRoute({
      tags: ["operations"],
      summary: "What was rejected on a day, newest first, with why and the raw body",
      parameters: [param("day", "query", "YYYY-MM-DD (UTC); default today"), ...pagingParams],
      responses: {
        "200": { description: "A page of rejections", content: jsonContent(QuarantinePage) },
        ...problems(400),
      },
    }),
    admin,
    (c) =>
      guarded(c, async () => {
        const query = c.req.query();
        const day = query.day ?? deps.clock.now().toISOString().slice(0, 10);
        if (!DAY.test(day)) throw new InvalidInputError(400, "day", "day must be YYYY-MM-DD");
        const result = await deps.reader.byDay(day, paging(PAGED_ROUTES.quarantine, query));
        return c.json(page(PAGED_ROUTES.quarantine, result.items, result.cursor), 200);
      }),
  );

  app.post(
    "/v1/replay",
    describeRoute({
      tags: ["operations"],
      summary: "Send stored attendance in a window to the events queue again, one page per call",
      description:
        "Same eventIds as the first time, so consumers can dedupe. Each call sends one page and answers its " +
        "progress; call again with the returned cursor until done is true.",
      requestBody: { required: true, content: jsonContent(ReplayRequestSchema) },
      responses: {
        "200": { description: "Progress of this page", content: jsonContent(ReplayAnswer) },
        ...problems(400, 422),
      },
    }),
    admin,
    (c) =>
      guarded(c, async () => {
        const json = parseJson(await c.req.text(), "body");
        if (!json || typeof json !== "object" || Array.isArray(json)) {
          throw new InvalidInputError(400, "body", "body must be a JSON object");
        }
        const body = parseOrReject(ReplayRequestSchema, json, "", 422);
        const sn = body.sn === undefined ? undefined : parseOrReject(SerialNumber, body.sn, "sn", 422);
        const progress = await replayPage(deps, { ...body, ...(sn ? { sn } : {}) });
        options.logger.info("replayed attendance", {
          key: c.get("apiKey")?.name,
          sn,
          ...progress,
          cursor: undefined,
        });
        return c.json(progress, 200);
      }),
  );
}

/** One page of a replay: the body's cursor back to the store's, and the next one tagged for this route. */
async function replayPage(
  deps: ApiDeps,
  body: Omit<v.InferOutput<typeof ReplayRequestSchema>, "sn"> & { sn?: string },
) {
  const cursor = storeCursor(PAGED_ROUTES.replay, body.cursor);
  const { cursor: next, ...progress } = await replayAttendance(
    { reader: deps.reader, events: deps.events },
    {
      window: parseWindow(body.from, body.to),
      ...(body.sn ? { sn: body.sn } : {}),
      ...(cursor ? { cursor } : {}),
      pageSize: body.pageSize ?? DEFAULT_REPLAY_PAGE,
    },
  );
  return { ...progress, ...(next ? { cursor: routeCursor(PAGED_ROUTES.replay, next) } : {}) };
}
