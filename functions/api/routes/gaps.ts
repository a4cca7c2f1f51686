import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { Scope } from "../../core/api-keys.ts";
import { publicGap } from "../../core/gaps/messages.ts";
import type { GapStore } from "../../core/gaps/ports.ts";
import { GapAnswer, GapListQuery } from "../../core/gaps/schemas.ts";
import { SnParams } from "../../core/schemas/api.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { validate } from "../../http/validate.ts";
import { jsonContent, problems } from "../route-kit.ts";
import type { ApiDeps, ApiEnv } from "../types.ts";

const READERS = ["read", "admin"] as const satisfies Scope[];
/** Trackers listed per fleet-wide answer (each holds a device's unresolved gaps). */
const FLEET_PAGE = 100;

type GapDeps = ApiDeps & { gaps?: GapStore };

/** `GET /v1/devices/{sn}/gaps`: the device's gaps (unresolved and the latest closed) and its clock offset. */
export function deviceGapRoutes(deps: GapDeps) {
  const app = new Hono<ApiEnv>();
  app.get(
    "/",
    describeRoute({
      tags: ["gaps"],
      summary: "A device's punch gaps (missing numbers) and clock offset",
      responses: {
        "200": { description: "The device's gaps", content: jsonContent(GapAnswer) },
        ...problems(400),
      },
    }),
    requireScope(deps.keys, READERS),
    validate("param", SnParams),
    async (c) => {
      const { sn } = c.req.valid("param");
      const tracker = await deps.gaps?.get(sn);
      const drift = tracker?.drift;
      const clock = drift
        ? { offset_ms: drift.offsetMs, source: drift.source, flagged: drift.flagged }
        : undefined;
      return c.json(
        { items: (tracker?.gaps ?? []).map((gap) => publicGap(sn, gap)), ...(clock ? { clock } : {}) },
        200,
      );
    },
  );
  return app;
}

/** `GET /v1/gaps?open=true`: every unresolved gap of the fleet. */
export function fleetGapRoutes(deps: GapDeps) {
  const app = new Hono<ApiEnv>();
  app.get(
    "/",
    describeRoute({
      tags: ["gaps"],
      summary: "Unresolved punch gaps across the fleet",
      responses: {
        "200": { description: "Gaps not closed", content: jsonContent(GapAnswer) },
        ...problems(400),
      },
    }),
    requireScope(deps.keys, READERS),
    validate("query", GapListQuery),
    async (c) => {
      const { open } = c.req.valid("query");
      const page = (await deps.gaps?.listUnresolved(FLEET_PAGE)) ?? { items: [] };
      const items = page.items.flatMap((tracker) =>
        tracker.gaps
          .filter((gap) => open === "false" || gap.status !== "closed")
          .map((gap) => publicGap(tracker.sn, gap)),
      );
      return c.json({ items }, 200);
    },
  );
  return app;
}
