import type { Context } from "hono";
import * as v from "valibot";
import { switchTransport } from "../../core/commands/switch-transport.ts";
import { DELIVERY_TRANSPORTS } from "../../core/device-transport.ts";
import { SnParams } from "../../core/schemas/api.ts";
import { problemResponse } from "../../http/problems.ts";
import { type ApiRoutes, apiRoutes, type ResourceDefaults } from "../declare-route.ts";
import type { ApiDeps } from "../types.ts";

/** Reading needs any scope; setting, `admin`. */
const TRANSPORT: ResourceDefaults = { tags: ["device identity"], scope: ["read", "commands", "admin"] };

const Transport = v.picklist(
  DELIVERY_TRANSPORTS,
  `transport must be one of ${DELIVERY_TRANSPORTS.join(", ")}`,
);
const TransportRequest = v.strictObject(
  { transport: Transport },
  "is not a known field; the body takes transport",
);
const TransportAnswer = v.object({ sn: v.string(), transport: Transport });
const TransportSet = v.object({
  ...TransportAnswer.entries,
  requeued: v.pipe(
    v.number(),
    v.description(
      "Waiting commands put back on the device's queue to be sent now (set to mqtt while it is connected); else 0",
    ),
  ),
});

/**
 * `/v1/devices/{sn}/transport`: how the device takes its commands. `http`: it only polls
 * `GET /v1/devices/{sn}/commands/next`, so the publisher never calls EMQX for it and its commands wait
 * as `pending` for the poll. `mqtt` (the default) clears it, and puts the device's waiting commands back
 * on its queue (`switchTransport`).
 */
export function deviceTransportRoutes(deps: ApiDeps) {
  const routes = apiRoutes(deps.keys, TRANSPORT);
  const summary = "How a device takes its commands (mqtt or http)";
  routes.get("/", { summary, ok: ["The transport", TransportAnswer], param: SnParams }, async (c) => {
    if (!deps.transports) return notConfigured(c);
    const { sn } = c.req.valid("param");
    return c.json({ sn, transport: await deps.transports.get(sn) }, 200);
  });
  setTransport(routes, deps);
  return routes.app;
}

function setTransport(routes: ApiRoutes, deps: ApiDeps) {
  const declaration = {
    summary: "Set how a device takes its commands: http (it polls) or mqtt",
    ok: ["The transport, and the commands it put back on the queue", TransportSet],
    scope: "admin",
    param: SnParams,
    json: TransportRequest,
  } as const;
  routes.put("/", declaration, async (c) => {
    if (!deps.transports) return notConfigured(c);
    const { sn } = c.req.valid("param");
    const { transport } = c.req.valid("json");
    const switchDeps = { ...deps, transports: deps.transports, presence: deps.reader };
    const { requeued } = await switchTransport(switchDeps, sn, transport);
    return c.json({ sn, transport, requeued }, 200);
  });
}

function notConfigured(c: Context): Response {
  const detail = "device transports are not configured for this API";
  return problemResponse(c, "not_configured", detail);
}
