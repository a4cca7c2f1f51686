import type { Hono } from "hono";
import { TransientError } from "../../core/errors.ts";
import { ShadowReport } from "../../core/schemas/shadow.ts";
import { computeDelta, emptyShadow } from "../../core/shadow/document.ts";
import { deviceDelta } from "../../core/shadow/fanout.ts";
import type { ShadowStore } from "../../core/shadow/ports.ts";
import { updateShadow } from "../../core/shadow/update-shadow.ts";
import { parseJson, parseOrReject } from "../../core/validation.ts";
import { processAndAnswer } from "../answer.ts";
import { readBody } from "../read-body.ts";
import type { IngestDeps, IngestEnv, IngestOptions, IngestResult } from "../types.ts";

/**
 * A device reports its state, `{"reported":{...}}` (a JSON merge patch: `null` deletes a key), on
 * `api/mqtt/v1/{sn}/shadow/update` or `POST /v1/devices/{sn}/shadow`. The answer holds what is still
 * to do (the delta) with the shadow's version. Bad input is a 4xx naming the field, quarantined.
 */
export async function ingestShadowReport(
  deps: IngestDeps,
  sn: string,
  payload: string,
): Promise<IngestResult> {
  const shadows = configured(deps.shadows);
  const report = parseOrReject(ShadowReport, parseJson(payload, "payload"), "payload");
  const { shadow, changed } = await updateShadow({ ...deps, shadows }, sn, {
    section: "reported",
    patch: report.reported,
  });
  const state = computeDelta(shadow.desired, shadow.reported);
  return { result: "shadow", sn, version: shadow.version, changed, state };
}

/**
 * `POST /v1/devices/{sn}/shadow` (report) and `GET /v1/devices/{sn}/shadow` (the delta, as
 * `{"version","state"}`, the same as on `shadow/delta`) for HTTP devices, under the device routes'
 * serial-number and token checks.
 */
export function registerDeviceShadowRoutes(app: Hono<IngestEnv>, deps: IngestDeps, options: IngestOptions) {
  app.post("/v1/devices/:sn/shadow", async (c) => {
    const sn = c.req.param("sn");
    const body = await readBody(c.req.raw, options.maxBodyBytes);
    return processAndAnswer(c, deps, options, {
      transport: "http",
      body,
      ids: () => ({ sn }),
      process: () => ingestShadowReport(deps, sn, body.text),
    });
  });
  app.get("/v1/devices/:sn/shadow", async (c) => {
    const sn = c.req.param("sn");
    // An outage (or no shadow store) is a TransientError: 503 from the app's onError.
    const shadow = (await configured(deps.shadows).get(sn)) ?? emptyShadow(sn);
    return c.json(deviceDelta(shadow), 200);
  });
}

function configured(shadows: ShadowStore | undefined): ShadowStore {
  if (!shadows) throw new TransientError("device shadows are not configured for the ingest");
  return shadows;
}
