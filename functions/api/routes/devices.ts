import type { Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { InvalidInputError } from "../../core/errors.ts";
import type { StoredAttendance } from "../../core/ports.ts";
import type { Page, PageRequest } from "../../core/queries.ts";
import { parseWindow, type TimeWindow } from "../../core/time-window.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { notFound } from "../answers.ts";
import { PAGED_ROUTES, type PagedRoute } from "../route-cursor.ts";
import { guard, jsonContent, page, paging, pagingParams, param, parseSn, problems } from "../route-kit.ts";
import { AttendancePage, DeviceDetail, DevicePage } from "../schemas.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";
import { publicAttendance, publicDevice, publicIdentity } from "../views.ts";
import { registerDeviceIdentityRoutes } from "./device-identity.ts";

const windowParams = [
  param("from", "query", "date (YYYY-MM-DD) or ISO 8601 time; compared with the normalized att_time"),
  param("to", "query", "date (whole day) or ISO 8601 time, inclusive"),
];

/** Devices and attendance, scope `read`; revoking and re-keying devices, scope `admin`. */
export function registerDeviceRoutes(app: Hono<ApiEnv>, deps: ApiDeps, options: ApiOptions) {
  const guarded = guard(options);
  const read = requireScope(deps.keys, "read");
  registerDeviceIdentityRoutes(app, deps, options);

  app.get(
    "/v1/devices",
    describeRoute({
      tags: ["devices"],
      summary: "Every device's presence, by serial number",
      parameters: [param("online", "query", "true or false"), ...pagingParams],
      responses: {
        "200": { description: "A page of devices", content: jsonContent(DevicePage) },
        ...problems(400),
      },
    }),
    read,
    (c) =>
      guarded(c, async () => {
        const query = c.req.query();
        const online = parseOnline(query.online);
        const result = await deps.reader.list(
          online === undefined ? {} : { online },
          paging(PAGED_ROUTES.devices, query),
        );
        return c.json(page(PAGED_ROUTES.devices, result.items.map(publicDevice), result.cursor), 200);
      }),
  );

  app.get(
    "/v1/devices/:sn",
    describeRoute({
      tags: ["devices"],
      summary: "One device: presence, last seen, session, pending commands, identity",
      description:
        "identity is the device's registry entry (enabled, credential generation, who registered it, last " +
        "login), absent until the device first logs in or an operator registers it.",
      parameters: [param("sn", "path", "device serial number")],
      responses: {
        "200": { description: "The device", content: jsonContent(DeviceDetail) },
        ...problems(400, 404),
      },
    }),
    read,
    (c) =>
      guarded(c, async () => {
        const sn = parseSn(c.req.param("sn"));
        const [device, pendingCommands, identity] = await Promise.all([
          deps.reader.get(sn),
          deps.commands.countByStatus(sn, "pending"),
          deps.devices.find(sn),
        ]);
        if (!device && pendingCommands === 0 && !identity) {
          return notFound(c, `no device '${sn}' has been seen or registered`);
        }
        const view = { ...(device ? publicDevice(device) : { sn }), pendingCommands };
        return c.json(
          { device: { ...view, ...(identity ? { identity: publicIdentity(identity) } : {}) } },
          200,
        );
      }),
  );

  app.get(
    "/v1/devices/:sn/attendance",
    describeAttendance("A device's attendance in time order", param("sn", "path", "device serial number")),
    read,
    (c) =>
      guarded(c, async () => {
        const sn = parseSn(c.req.param("sn"));
        return attendancePage(c, PAGED_ROUTES.deviceAttendance, (window, request) =>
          deps.reader.byDevice(sn, window, request),
        );
      }),
  );

  app.get(
    "/v1/users/:userId/attendance",
    describeAttendance(
      "A user's attendance on every device, in time order",
      param("userId", "path", "user_id as devices send it"),
    ),
    read,
    (c) =>
      guarded(c, async () => {
        const userId = c.req.param("userId");
        if (!/^[^#\s]{1,64}$/.test(userId))
          throw new InvalidInputError(400, "userId", "userId must be 1-64 characters, no '#' or spaces");
        return attendancePage(c, PAGED_ROUTES.userAttendance, (window, request) =>
          deps.reader.byUser(userId, window, request),
        );
      }),
  );
}

/** The OpenAPI description shared by the attendance routes: a window, paging, a page of punches. */
function describeAttendance(summary: string, key: ReturnType<typeof param>) {
  return describeRoute({
    tags: ["attendance"],
    summary,
    parameters: [key, ...windowParams, ...pagingParams],
    responses: {
      "200": { description: "A page of punches", content: jsonContent(AttendancePage) },
      ...problems(400),
    },
  });
}

/** One page of punches for `?from=&to=&limit=&cursor=`, whichever index `read` uses. */
async function attendancePage(
  c: Context<ApiEnv>,
  route: PagedRoute,
  read: (window: TimeWindow, request: PageRequest) => Promise<Page<StoredAttendance>>,
): Promise<Response> {
  const query = c.req.query();
  const result = await read(parseWindow(query.from, query.to), paging(route, query));
  return c.json(page(route, result.items.map(publicAttendance), result.cursor), 200);
}

function parseOnline(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === "true" || value === "false") return value === "true";
  throw new InvalidInputError(400, "online", "online must be true or false");
}
