import type { Context, Hono } from "hono";
import * as v from "valibot";
import { waitForNextCommand } from "../../core/commands/next-for-device.ts";
import { withDeadline } from "../../core/deadline.ts";
import { InvalidInputError } from "../../core/errors.ts";
import { timeLeft } from "../../http/deadline.ts";
import type { IngestDeps, IngestEnv, IngestOptions } from "../types.ts";

/** The longest long poll, in seconds: a held Lambda invocation is billed for all of it. */
export const MAX_WAIT_SECONDS = 20;

/** Pause between looks at the store while waiting: one query per deliverable status each time. */
export const POLL_INTERVAL_MS = 1_000;

/** `?wait=N`: whole seconds, 0..20, absent = 0 (answer at once). */
export const WaitQuery = v.pipe(
  v.optional(v.string(), "0"),
  v.regex(/^\d{1,2}$/, `wait: must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`),
  v.transform(Number),
  v.maxValue(MAX_WAIT_SECONDS, `wait: must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`),
);

/**
 * `GET /v1/devices/{sn}/commands/next?wait=N` for devices that speak HTTP instead of MQTT: the oldest
 * deliverable command as the MQTT envelope `{"id","op","data"}` (now `delivered`), or 204 when none came
 * within `wait` seconds. Registered under the device routes' middleware, so the token is the device's own.
 */
export function registerDeviceCommandRoute(app: Hono<IngestEnv>, deps: IngestDeps, options: IngestOptions) {
  app.get("/v1/devices/:sn/commands/next", async (c) => {
    const wait = v.safeParse(WaitQuery, c.req.query("wait"));
    if (!wait.success) throw new InvalidInputError("malformed", "wait", wait.issues[0].message);
    const sn = c.req.param("sn");
    const waitMs = Math.max(0, Math.min(wait.output * 1000, heldFor(c, options)));
    // Stopped when the client is gone or the answer was given up on: nothing is taken that nobody receives.
    const answered = new AbortController();
    const signal = AbortSignal.any([c.req.raw.signal, answered.signal]);
    try {
      // Bounded like any ingest work, so a slow store is a 503 (from the app's onError), not Lambda's timeout.
      const command = await withDeadline(
        () => waitForNextCommand(deps, sn, { waitMs, intervalMs: POLL_INTERVAL_MS, signal }),
        waitMs + options.deadlineMs,
      );
      if (!command) return c.body(null, 204);
      return c.json({ id: command.id, op: command.op, data: command.data }, 200);
    } finally {
      answered.abort();
    }
  });
}

/** How long this invocation may wait: on Lambda, what its timeout leaves after a last look and the answer. */
function heldFor(c: Context<IngestEnv>, options: IngestOptions): number {
  return timeLeft(c) - options.deadlineMs;
}
