import type { Context } from "hono";
import { SnParams } from "../../core/schemas/api.ts";
import { MAX_SHADOW_BYTES, ShadowAnswer, ShadowDesiredPatch } from "../../core/schemas/shadow.ts";
import { emptyShadow } from "../../core/shadow/document.ts";
import { publicShadow } from "../../core/shadow/fanout.ts";
import { updateShadow } from "../../core/shadow/update-shadow.ts";
import { problemResponse } from "../../http/problems.ts";
import { type ApiRoutes, apiRoutes, type ResourceDefaults } from "../declare-route.ts";
import type { ApiDeps, ApiOptions } from "../types.ts";

/** Reading needs `read` or `commands`; changing the desired state, `commands`. */
const SHADOW: ResourceDefaults = { tags: ["shadow"], scope: ["read", "commands"] };

/** A patch holds at most the shadow's limit of state plus a version; twice that is room for whitespace. */
const MAX_PATCH_BODY_BYTES = 2 * MAX_SHADOW_BYTES;

const PATCH_DESCRIPTION =
  "With `version`, the change is made only if the shadow is still at that version (else 409). " +
  `Keys: 1-64 of A-Z a-z 0-9 _ -; at most 6 levels; the whole state at most ${MAX_SHADOW_BYTES} bytes. ` +
  "When the delta changes, the device gets it on api/mqtt/v1/{sn}/shadow/delta (QoS 1) with the version.";

/**
 * `/v1/devices/{sn}/shadow`: read the shadow (`read` or `commands`), change its desired state (`commands`).
 * A desired change goes to the device as a delta on `api/mqtt/v1/{sn}/shadow/delta` (see core/shadow).
 */
export function shadowRoutes(deps: ApiDeps, options: ApiOptions) {
  const routes = apiRoutes(deps.keys, SHADOW);
  readShadow(routes, deps);
  patchShadow(routes, deps, options);
  return routes.app;
}

function readShadow(routes: ApiRoutes, deps: ApiDeps) {
  const summary = "A device's shadow: desired, reported, delta, per-key times, version";
  const description = "A device without a shadow has version 0 and empty states.";
  routes.get("/", { summary, description, ok: ["The shadow", ShadowAnswer], param: SnParams }, async (c) => {
    const shadows = deps.shadows;
    if (!shadows) return notConfigured(c);
    const { sn } = c.req.valid("param");
    const shadow = (await shadows.get(sn)) ?? emptyShadow(sn);
    return c.json({ shadow: publicShadow(shadow) }, 200);
  });
}

function patchShadow(routes: ApiRoutes, deps: ApiDeps, options: ApiOptions) {
  const declaration = {
    summary: "Change a device's desired state (JSON merge patch; null deletes a key)",
    description: PATCH_DESCRIPTION,
    ok: ["The shadow after the change", ShadowAnswer],
    scope: "commands",
    param: SnParams,
    json: ShadowDesiredPatch,
    maxBodyBytes: MAX_PATCH_BODY_BYTES,
    errors: [409],
  } as const;
  routes.patch("/", declaration, async (c) => {
    const shadows = deps.shadows;
    if (!shadows) return notConfigured(c);
    const { sn } = c.req.valid("param");
    const { desired, version } = c.req.valid("json");
    const change = {
      section: "desired" as const,
      patch: desired,
      ...(version !== undefined ? { expectedVersion: version } : {}),
    };
    // A stale `version` is a ShadowVersionConflictError, answered 409 by the app's onError.
    const { shadow, changed } = await updateShadow({ ...deps, shadows }, sn, change);
    options.logger.debug(changed ? "shadow changed" : "shadow unchanged", { sn, version: shadow.version });
    return c.json({ shadow: publicShadow(shadow) }, 200);
  });
}

function notConfigured(c: Context): Response {
  const detail = "device shadows are not configured for this API";
  return problemResponse(c, "not_configured", detail);
}
