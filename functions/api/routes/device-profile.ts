import type { Context, Hono } from "hono";
import * as v from "valibot";
import type { DeviceProfiles } from "../../core/jobs/groups.ts";
import { SnParams } from "../../core/schemas/api.ts";
import { DeviceProfileRequest } from "../../core/schemas/jobs.ts";
import { problemResponse } from "../../http/problems.ts";
import { apiRoutes } from "../declare-route.ts";
import { PAGED_ROUTES } from "../route-cursor.ts";
import { page, paging } from "../route-kit.ts";
import type { ApiDeps, ApiEnv } from "../types.ts";

export const DeviceProfileView = v.object({
  sn: v.string(),
  groups: v.array(v.string()),
  attributes: v.record(v.string(), v.union([v.string(), v.number(), v.boolean()])),
  updatedAt: v.string(),
});

/**
 * `PUT /v1/devices/{sn}` (scope `admin`): the device's groups and attributes, replacing what it had.
 * Jobs target a group (`{"targets": {"group": ...}}`) and `GET /v1/devices?group=` lists one, both
 * through the group's membership items, never a scan.
 */
export function addDeviceProfileRoutes(app: Hono<ApiEnv>, deps: ApiDeps) {
  const declaration = {
    summary: "Set a device's groups and attributes",
    description: "Replaces both (an omitted one becomes empty). A device may be in up to 20 groups.",
    ok: ["The device's groups and attributes", v.object({ device: DeviceProfileView })],
    param: SnParams,
    json: DeviceProfileRequest,
  } as const;
  apiRoutes(deps.keys, { tags: ["devices"], scope: "admin" }, app).put("/:sn", declaration, async (c) => {
    if (!deps.profiles) return notConfigured(c);
    const { sn } = c.req.valid("param");
    const { groups = [], attributes = {} } = c.req.valid("json");
    const updatedAt = deps.clock.now().toISOString();
    return c.json({ device: await deps.profiles.put({ sn, groups, attributes, updatedAt }) }, 200);
  });
}

/** `GET /v1/devices?group=`: the group's devices with their groups and attributes, by serial number. */
export async function groupPage(
  c: Context<ApiEnv>,
  deps: ApiDeps,
  group: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<Response> {
  const profiles: DeviceProfiles | undefined = deps.profiles;
  if (!profiles) return notConfigured(c);
  const result = await profiles.members(group, paging(PAGED_ROUTES.groupDevices, query));
  return c.json(page(PAGED_ROUTES.groupDevices, result.items, result.cursor), 200);
}

function notConfigured(c: Context<ApiEnv>): Response {
  return problemResponse(c, "not_configured", "device groups are not configured for this API");
}
