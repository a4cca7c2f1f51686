import type { Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { DeviceProfiles } from "../../core/jobs/groups.ts";
import { SnParams } from "../../core/schemas/api.ts";
import { DeviceProfileRequest } from "../../core/schemas/jobs.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { jsonObjectBody } from "../../http/json-body.ts";
import { problemResponse } from "../../http/problems.ts";
import { validate } from "../../http/validate.ts";
import { PAGED_ROUTES } from "../route-cursor.ts";
import { jsonContent, page, paging, problems } from "../route-kit.ts";
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
  app.put(
    "/:sn",
    describeRoute({
      tags: ["devices"],
      summary: "Set a device's groups and attributes",
      description: "Replaces both (an omitted one becomes empty). A device may be in up to 20 groups.",
      responses: {
        "200": {
          description: "The device's groups and attributes",
          content: jsonContent(v.object({ device: DeviceProfileView })),
        },
        ...problems(400, 413, 415, 422),
      },
    }),
    requireScope(deps.keys, "admin"),
    validate("param", SnParams),
    jsonObjectBody(),
    validate("json", DeviceProfileRequest),
    async (c) => {
      if (!deps.profiles) return notConfigured(c);
      const { sn } = c.req.valid("param");
      const body = c.req.valid("json");
      const profile = await deps.profiles.put({
        sn,
        groups: body.groups ?? [],
        attributes: body.attributes ?? {},
        updatedAt: deps.clock.now().toISOString(),
      });
      return c.json({ device: profile }, 200);
    },
  );
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
