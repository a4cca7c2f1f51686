import { type Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Scope } from "../../core/api-keys.ts";
import { DELIVERY_TRANSPORTS } from "../../core/device-transport.ts";
import { SnParams } from "../../core/schemas/api.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { jsonObjectBody } from "../../http/json-body.ts";
import { problemResponse } from "../../http/problems.ts";
import { validate } from "../../http/validate.ts";
import { jsonContent, problems } from "../route-kit.ts";
import type { ApiDeps, ApiEnv } from "../types.ts";

const READERS = ["read", "commands", "admin"] as const satisfies Scope[];

const Transport = v.picklist(
  DELIVERY_TRANSPORTS,
  `transport must be one of ${DELIVERY_TRANSPORTS.join(", ")}`,
);
const TransportRequest = v.strictObject(
  { transport: Transport },
  "is not a known field; the body takes transport",
);
const TransportAnswer = v.object({ sn: v.string(), transport: Transport });

/**
 * `/v1/devices/{sn}/transport`: how the device takes its commands. `http`: it only polls
 * `GET /v1/devices/{sn}/commands/next`, so the publisher never calls EMQX for it and its commands wait
 * as `pending` for the poll. `mqtt` (the default) clears it.
 */
export function deviceTransportRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get(
    "/",
    describeRoute({
      tags: ["device identity"],
      summary: "How a device takes its commands (mqtt or http)",
      responses: {
        "200": { description: "The transport", content: jsonContent(TransportAnswer) },
        ...problems(400),
      },
    }),
    requireScope(deps.keys, READERS),
    validate("param", SnParams),
    async (c) => {
      if (!deps.transports) return notConfigured(c);
      const { sn } = c.req.valid("param");
      return c.json({ sn, transport: await deps.transports.get(sn) }, 200);
    },
  );
  setTransport(app, deps);
  return app;
}

function setTransport(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.put(
    "/",
    describeRoute({
      tags: ["device identity"],
      summary: "Set how a device takes its commands: http (it polls) or mqtt",
      responses: {
        "200": { description: "The transport", content: jsonContent(TransportAnswer) },
        ...problems(400, 415, 422),
      },
    }),
    requireScope(deps.keys, "admin"),
    validate("param", SnParams),
    jsonObjectBody(),
    validate("json", TransportRequest),
    async (c) => {
      if (!deps.transports) return notConfigured(c);
      const { sn } = c.req.valid("param");
      const { transport } = c.req.valid("json");
      await deps.transports.set(sn, transport, deps.clock.now().toISOString());
      return c.json({ sn, transport }, 200);
    },
  );
}

function notConfigured(c: Context): Response {
  const detail = "device transports are not configured for this API";
  return problemResponse(c, "not_configured", detail);
}
