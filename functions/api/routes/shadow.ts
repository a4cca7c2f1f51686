import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { describeRoute } from "hono-openapi";
import type { Scope } from "../../core/api-keys.ts";
import { SnParams } from "../../core/schemas/api.ts";
import { MAX_SHADOW_BYTES, ShadowAnswer, ShadowDesiredPatch } from "../../core/schemas/shadow.ts";
import { emptyShadow } from "../../core/shadow/document.ts";
import { publicShadow } from "../../core/shadow/fanout.ts";
import { updateShadow } from "../../core/shadow/update-shadow.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { jsonObjectBody } from "../../http/json-body.ts";
import { problemResponse, tooLarge } from "../../http/problems.ts";
import { validate } from "../../http/validate.ts";
import { jsonContent, problems } from "../route-kit.ts";
import type { ApiDeps, ApiEnv, ApiOptions } from "../types.ts";

const READERS = ["read", "commands"] as const satisfies Scope[];

/** A patch holds at most the shadow's limit of state plus a version; twice that is room for whitespace. */
const MAX_PATCH_BODY_BYTES = 2 * MAX_SHADOW_BYTES;

/**
 * `/v1/devices/{sn}/shadow`: read the shadow (`read` or `commands`), change its desired state (`commands`).
 * A desired change goes to the device as a delta on `api/mqtt/v1/{sn}/shadow/delta` (see core/shadow).
 */
export function shadowRoutes(deps: ApiDeps, options: ApiOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  readShadow(app, deps);
  patchShadow(app, deps, options);
  return app;
}

function readShadow(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.get(
    "/",
    describeRoute({
      tags: ["shadow"],
      summary: "A device's shadow: desired, reported, delta, per-key times, version",
      description: "A device without a shadow has version 0 and empty states.",
      responses: {
        "200": { description: "The shadow", content: jsonContent(ShadowAnswer) },
        ...problems(400),
      },
    }),
    requireScope(deps.keys, READERS),
    validate("param", SnParams),
    async (c) => {
      const shadows = deps.shadows;
      if (!shadows) return notConfigured(c);
      const { sn } = c.req.valid("param");
      const shadow = (await shadows.get(sn)) ?? emptyShadow(sn);
      return c.json({ shadow: publicShadow(shadow) }, 200);
    },
  );
}

function patchShadow(app: Hono<ApiEnv>, deps: ApiDeps, options: ApiOptions) {
  app.patch(
    "/",
    describePatch(),
    requireScope(deps.keys, "commands"),
    validate("param", SnParams),
    bodyLimit({ maxSize: MAX_PATCH_BODY_BYTES, onError: (c) => tooLarge(c, MAX_PATCH_BODY_BYTES) }),
    jsonObjectBody(),
    validate("json", ShadowDesiredPatch),
    async (c) => {
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
    },
  );
}

function describePatch() {
  return describeRoute({
    tags: ["shadow"],
    summary: "Change a device's desired state (JSON merge patch; null deletes a key)",
    description:
      "With `version`, the change is made only if the shadow is still at that version (else 409). " +
      `Keys: 1-64 of A-Z a-z 0-9 _ -; at most 6 levels; the whole state at most ${MAX_SHADOW_BYTES} bytes. ` +
      "When the delta changes, the device gets it on api/mqtt/v1/{sn}/shadow/delta (QoS 1) with the version.",
    responses: {
      "200": { description: "The shadow after the change", content: jsonContent(ShadowAnswer) },
      ...problems(400, 409, 413, 415, 422),
    },
  });
}

function notConfigured(c: Context): Response {
  const detail = "device shadows are not configured for this API";
  return problemResponse(c, "not_configured", detail);
}
