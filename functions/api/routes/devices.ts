import type { Context } from "hono";
import type { StoredAttendance } from "../../core/ports.ts";
import type { Page, PageRequest } from "../../core/queries.ts";
import { AttendanceQuery, DeviceListQuery, SnParams, UserParams } from "../../core/schemas/api.ts";
import { parseWindow, type TimeWindow } from "../../core/time-window.ts";
import { problemResponse } from "../../http/problems.ts";
import { type ApiRoutes, apiRoutes, type ResourceDefaults } from "../declare-route.ts";
import { PAGED_ROUTES, type PagedRoute } from "../route-cursor.ts";
import { page, paging } from "../route-kit.ts";
import { AttendancePage, DeviceDetail, DevicePage } from "../schemas.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";
import { publicAttendance, publicDevice, publicIdentity } from "../views.ts";
import { addDeviceIdentityRoutes } from "./device-identity.ts";
import { addDeviceProfileRoutes, groupPage } from "./device-profile.ts";

const DEVICES: ResourceDefaults = { tags: ["devices"], scope: "read" };
const ATTENDANCE: ResourceDefaults = { tags: ["attendance"], scope: "read" };
const PUNCHES = ["A page of punches", AttendancePage] as const;

/** `/v1/devices[/{sn}[/attendance]]`, scope `read`; revoking and re-keying devices, scope `admin`. */
export function deviceRoutes(deps: ApiDeps, options: ApiOptions) {
  const routes = apiRoutes(deps.keys, DEVICES);
  listDevices(routes, deps);
  readDevice(routes, deps);
  const summary = "A device's attendance in time order";
  const declaration = { summary, ...ATTENDANCE, ok: PUNCHES, param: SnParams, query: AttendanceQuery };
  routes.get("/:sn/attendance", declaration, (c) => {
    const { sn } = c.req.valid("param");
    return attendancePage(c, c.req.valid("query"), PAGED_ROUTES.deviceAttendance, (window, request) =>
      deps.reader.byDevice(sn, window, request),
    );
  });
  addDeviceIdentityRoutes(routes.app, deps, options);
  addDeviceProfileRoutes(routes.app, deps);
  return routes.app;
}

/** `/v1/users/{userId}/attendance`, scope `read`. */
export function userRoutes(deps: ApiDeps) {
  const summary = "A user's attendance on every device, in time order";
  const declaration = { summary, ok: PUNCHES, param: UserParams, query: AttendanceQuery };
  return apiRoutes(deps.keys, ATTENDANCE).get("/:userId/attendance", declaration, (c) => {
    const { userId } = c.req.valid("param");
    return attendancePage(c, c.req.valid("query"), PAGED_ROUTES.userAttendance, (window, request) =>
      deps.reader.byUser(userId, window, request),
    );
  }).app;
}

function listDevices(routes: ApiRoutes, deps: ApiDeps) {
  const summary = "Every device's presence, by serial number";
  routes.get("/", { summary, ok: ["A page of devices", DevicePage], query: DeviceListQuery }, async (c) => {
    const { online, group, ...query } = c.req.valid("query");
    if (group !== undefined) return groupPage(c, deps, group, query);
    const filter = online === undefined ? {} : { online: online === "true" };
    const result = await deps.reader.list(filter, paging(PAGED_ROUTES.devices, query));
    return c.json(page(PAGED_ROUTES.devices, result.items.map(publicDevice), result.cursor), 200);
  });
}

function readDevice(routes: ApiRoutes, deps: ApiDeps) {
  const declaration = {
    summary: "One device: presence, last seen, session, pending commands, identity",
    description:
      "identity is the device's registry entry (enabled, credential generation, who registered it, last " +
      "login), absent until the device first logs in or an operator registers it.",
    ok: ["The device", DeviceDetail],
    param: SnParams,
    errors: [404],
  } as const;
  routes.get("/:sn", declaration, async (c) => {
    const { sn } = c.req.valid("param");
    const [device, pendingCommands, identity] = await Promise.all([
      deps.reader.get(sn),
      deps.commands.countByStatus(sn, "pending"),
      deps.devices.find(sn),
    ]);
    if (!device && pendingCommands === 0 && !identity) {
      return problemResponse(c, "not_found", `no device '${sn}' has been seen or registered`);
    }
    const view = { ...(device ? publicDevice(device) : { sn }), pendingCommands };
    const shown = identity ? { identity: publicIdentity(identity) } : {};
    return c.json({ device: { ...view, ...shown } }, 200);
  });
}

/** One page of punches for a validated `?from=&to=&limit=&cursor=`, whichever index `read` uses. */
async function attendancePage(
  c: Context<ApiEnv>,
  query: { from?: string | undefined; to?: string | undefined; limit: number; cursor?: string | undefined },
  route: PagedRoute,
  read: (window: TimeWindow, request: PageRequest) => Promise<Page<StoredAttendance>>,
): Promise<Response> {
  const result = await read(parseWindow(query.from, query.to), paging(route, query));
  return c.json(page(route, result.items.map(publicAttendance), result.cursor), 200);
}
