import { type Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { StoredAttendance } from "../../core/ports.ts";
import type { Page, PageRequest } from "../../core/queries.ts";
import { AttendanceQuery, DeviceListQuery, SnParams, UserParams } from "../../core/schemas/api.ts";
import { parseWindow, type TimeWindow } from "../../core/time-window.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { problemResponse } from "../../http/problems.ts";
import { validate } from "../../http/validate.ts";
import { PAGED_ROUTES, type PagedRoute } from "../route-cursor.ts";
import { jsonContent, page, paging, problems } from "../route-kit.ts";
import { AttendancePage, DeviceDetail, DevicePage } from "../schemas.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";
import { publicAttendance, publicDevice, publicIdentity } from "../views.ts";
import { addDeviceIdentityRoutes } from "./device-identity.ts";
import { addDeviceProfileRoutes, groupPage } from "./device-profile.ts";

type DeviceApp = Hono<ApiEnv>;

/** `/v1/devices[/{sn}[/attendance]]`, scope `read`; revoking and re-keying devices, scope `admin`. */
export function deviceRoutes(deps: ApiDeps, options: ApiOptions): DeviceApp {
  const app = new Hono<ApiEnv>();
  listDevices(app, deps);
  readDevice(app, deps);
  app.get(
    "/:sn/attendance",
    describeAttendance("A device's attendance in time order"),
    requireScope(deps.keys, "read"),
    validate("param", SnParams),
    validate("query", AttendanceQuery),
    (c) => {
      const { sn } = c.req.valid("param");
      return attendancePage(c, c.req.valid("query"), PAGED_ROUTES.deviceAttendance, (window, request) =>
        deps.reader.byDevice(sn, window, request),
      );
    },
  );
  addDeviceIdentityRoutes(app, deps, options);
  addDeviceProfileRoutes(app, deps);
  return app;
}

/** `/v1/users/{userId}/attendance`, scope `read`. */
export function userRoutes(deps: ApiDeps): Hono<ApiEnv> {
  return new Hono<ApiEnv>().get(
    "/:userId/attendance",
    describeAttendance("A user's attendance on every device, in time order"),
    requireScope(deps.keys, "read"),
    validate("param", UserParams),
    validate("query", AttendanceQuery),
    (c) => {
      const { userId } = c.req.valid("param");
      return attendancePage(c, c.req.valid("query"), PAGED_ROUTES.userAttendance, (window, request) =>
        deps.reader.byUser(userId, window, request),
      );
    },
  );
}

function listDevices(app: DeviceApp, deps: ApiDeps) {
  app.get(
    "/",
    describeRoute({
      tags: ["devices"],
      summary: "Every device's presence, by serial number",
      responses: {
        "200": { description: "A page of devices", content: jsonContent(DevicePage) },
        ...problems(400),
      },
    }),
    requireScope(deps.keys, "read"),
    validate("query", DeviceListQuery),
    async (c) => {
      const { online, group, ...query } = c.req.valid("query");
      if (group !== undefined) return groupPage(c, deps, group, query);
      const filter = online === undefined ? {} : { online: online === "true" };
      const result = await deps.reader.list(filter, paging(PAGED_ROUTES.devices, query));
      return c.json(page(PAGED_ROUTES.devices, result.items.map(publicDevice), result.cursor), 200);
    },
  );
}

function readDevice(app: DeviceApp, deps: ApiDeps) {
  app.get(
    "/:sn",
    describeRoute({
      tags: ["devices"],
      summary: "One device: presence, last seen, session, pending commands, identity",
      description:
        "identity is the device's registry entry (enabled, credential generation, who registered it, last " +
        "login), absent until the device first logs in or an operator registers it.",
      responses: {
        "200": { description: "The device", content: jsonContent(DeviceDetail) },
        ...problems(400, 404),
      },
    }),
    requireScope(deps.keys, "read"),
    validate("param", SnParams),
    async (c) => {
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
    },
  );
}

/** The OpenAPI description shared by the attendance routes (their inputs come from their validators). */
function describeAttendance(summary: string) {
  return describeRoute({
    tags: ["attendance"],
    summary,
    responses: {
      "200": { description: "A page of punches", content: jsonContent(AttendancePage) },
      ...problems(400),
    },
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
