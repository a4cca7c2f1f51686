import type * as v from "valibot";
import { replayAttendance } from "../../core/replay.ts";
import { QuarantineQuery, ReplayRequest } from "../../core/schemas/api.ts";
import { parseWindow } from "../../core/time-window.ts";
import { apiRoutes, type ResourceDefaults } from "../declare-route.ts";
import { PAGED_ROUTES, routeCursor, storeCursor } from "../route-cursor.ts";
import { page, paging } from "../route-kit.ts";
import { QuarantinePage, ReplayAnswer } from "../schemas.ts";
import type { ApiDeps, ApiOptions } from "../types.ts";

const DEFAULT_REPLAY_PAGE = 500;

const OPERATIONS: ResourceDefaults = { tags: ["operations"], scope: "admin" };

const REPLAY_DESCRIPTION =
  "Same eventIds as the first time, so consumers can dedupe. Each call sends one page and answers its " +
  "progress; call again with the returned cursor until done is true.";

/** `/v1/quarantine`: what was rejected on a day, scope `admin`. */
export function quarantineRoutes(deps: ApiDeps) {
  const summary = "What was rejected on a day, newest first, with why and the raw body";
  const ok = ["A page of rejections", QuarantinePage] as const;
  return apiRoutes(deps.keys, OPERATIONS).get("/", { summary, ok, query: QuarantineQuery }, async (c) => {
    const { day = deps.clock.now().toISOString().slice(0, 10), ...query } = c.req.valid("query");
    const result = await deps.reader.byDay(day, paging(PAGED_ROUTES.quarantine, query));
    return c.json(page(PAGED_ROUTES.quarantine, result.items, result.cursor), 200);
  }).app;
}

/** `/v1/replay`: stored attendance sent to the events queue again, one page per call, scope `admin`. */
export function replayRoutes(deps: ApiDeps, options: ApiOptions) {
  const declaration = {
    summary: "Send stored attendance in a window to the events queue again, one page per call",
    description: REPLAY_DESCRIPTION,
    ok: ["Progress of this page", ReplayAnswer],
    json: ReplayRequest,
  } as const;
  return apiRoutes(deps.keys, OPERATIONS).post("/", declaration, async (c) => {
    const body = c.req.valid("json");
    const progress = await replayPage(deps, body);
    const key = c.get("apiKey")?.name;
    options.logger.info("replayed attendance", { key, sn: body.sn, ...progress, cursor: undefined });
    return c.json(progress, 200);
  }).app;
}

/** One page of a replay: the body's cursor back to the store's, and the next one tagged for this route. */
async function replayPage(deps: ApiDeps, body: v.InferOutput<typeof ReplayRequest>) {
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
