import { publicGap } from "../../core/gaps/messages.ts";
import type { GapStore } from "../../core/gaps/ports.ts";
import { GapAnswer, GapListQuery } from "../../core/gaps/schemas.ts";
import { SnParams } from "../../core/schemas/api.ts";
import { apiRoutes, type ResourceDefaults } from "../declare-route.ts";
import type { ApiDeps } from "../types.ts";

const GAPS: ResourceDefaults = { tags: ["gaps"], scope: ["read", "admin"] };
/** Trackers listed per fleet-wide answer (each holds a device's unresolved gaps). */
const FLEET_PAGE = 100;

type GapDeps = ApiDeps & { gaps?: GapStore };

/** `GET /v1/devices/{sn}/gaps`: the device's gaps (unresolved and the latest closed) and its clock offset. */
export function deviceGapRoutes(deps: GapDeps) {
  const summary = "A device's punch gaps (missing numbers) and clock offset";
  const routes = apiRoutes(deps.keys, GAPS);
  routes.get("/", { summary, ok: ["The device's gaps", GapAnswer], param: SnParams }, async (c) => {
    const { sn } = c.req.valid("param");
    const tracker = await deps.gaps?.get(sn);
    const drift = tracker?.drift;
    const clock = drift
      ? { offset_ms: drift.offsetMs, source: drift.source, flagged: drift.flagged }
      : undefined;
    const items = (tracker?.gaps ?? []).map((gap) => publicGap(sn, gap));
    return c.json({ items, ...(clock ? { clock } : {}) }, 200);
  });
  return routes.app;
}

/** `GET /v1/gaps?open=true`: every unresolved gap of the fleet. */
export function fleetGapRoutes(deps: GapDeps) {
  const summary = "Unresolved punch gaps across the fleet";
  const routes = apiRoutes(deps.keys, GAPS);
  routes.get("/", { summary, ok: ["Gaps not closed", GapAnswer], query: GapListQuery }, async (c) => {
    const page = (await deps.gaps?.listUnresolved(FLEET_PAGE)) ?? { items: [] };
    // open=false lists the closed gaps those trackers still hold, too.
    const all = c.req.valid("query").open === "false";
    const items = page.items.flatMap((tracker) =>
      tracker.gaps.filter((gap) => all || gap.status !== "closed").map((gap) => publicGap(tracker.sn, gap)),
    );
    return c.json({ items }, 200);
  });
  return routes.app;
}
