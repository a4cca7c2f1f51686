import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import {
  type AnswerPublisher,
  type AnswerStore,
  type AppKeyDirectory,
  answerAppRequest,
  type Refusal,
} from "../../core/app-requests/index.ts";
import { withDeadline } from "../../core/deadline.ts";
import type { Clock } from "../../core/ports.ts";
import { systemClock } from "../../core/ports.ts";
import { parseOrReject } from "../../core/validation.ts";
import { bearerAuth } from "../../http/bearer-auth.ts";
import { budgetMs } from "../../http/deadline.ts";
import { PROBLEM_KINDS, type ProblemKind, problem, tooLarge } from "../../http/problems.ts";
import { DEFAULT_DEADLINE_MS } from "../route-kit.ts";
import type { ApiEnv, ApiOptions } from "../types.ts";
import { type ApiFetch, runThroughApi } from "./run.ts";

/** Where EMQX's requests rule posts (emqx-rules/definitions.ts, connector `bridge_api`). */
export const MQTT_REQUESTS_PATH = "/emqx/app-requests";

/**
 * A rule event may carry EMQX's largest packet (1 MB by default, docs/emqx.md §8.2) with its payload
 * escaped as a JSON string; the request's own body is held to the API's limit when it runs.
 */
const MAX_RULE_EVENT_BYTES = 4 * 1024 * 1024;

/** What the API over MQTT needs besides the API itself. */
export interface AppRequestsDeps {
  /** The bearer tokens EMQX's connectors send (the ingest's tokens). */
  tokens: readonly string[];
  keys: AppKeyDirectory;
  answers: AnswerStore;
  publisher: AnswerPublisher;
  clock?: Clock;
}

/** The columns of the rule's `SELECT *` that matter (docs/emqx.md §3.2); the rest pass unread. */
const RequestRuleEvent = v.looseObject({ topic: v.string(), username: v.string(), payload: v.string() });

/** Each refusal as the kind the API answers the same request with. */
const REFUSAL_KINDS = {
  invalid_request: "malformed",
  unauthorized: "unauthorized",
} as const satisfies Record<Refusal["kind"], ProblemKind>;

/**
 * `POST /emqx/app-requests`: EMQX's requests rule delivers one app request (`SELECT *` of a publish on
 * `app/v1/+/requests`), authenticated with the EMQX→bridge token, never with the app's key. 204 once the
 * answer is published (or left to an attempt still running); 503 on an outage, so EMQX retries.
 */
export function mqttRequestRoutes(deps: AppRequestsDeps, options: ApiOptions, api: ApiFetch) {
  const app = new Hono<ApiEnv>();
  app.post(
    "/",
    describeRoute({ hide: true }),
    bearerAuth(deps.tokens),
    bodyLimit({ maxSize: MAX_RULE_EVENT_BYTES, onError: (c) => tooLarge(c, MAX_RULE_EVENT_BYTES) }),
    async (c) => {
      const event = parseOrReject(
        RequestRuleEvent,
        await c.req.json().catch(() => undefined),
        "",
        "malformed",
      );
      const outcome = await withDeadline(
        () =>
          answerAppRequest(
            {
              ...deps,
              clock: deps.clock ?? systemClock,
              route: (key, request) => runThroughApi(api, c.env, key, request),
              refused,
              pause: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
            },
            event,
          ),
        // The route's own deadline plus time to claim, keep and publish the answer.
        budgetMs(c, (options.deadlineMs ?? DEFAULT_DEADLINE_MS) + 4_000),
      );
      options.logger.debug("app request over MQTT", { outcome, topic: event.topic });
      if (outcome === "answered_unkept") options.logger.warn("answered, but the answer was not kept");
      return c.body(null, 204);
    },
  );
  return app;
}

/** A refusal as the API would answer it: an RFC 9457 problem with the same status. */
function refused(refusal: Refusal) {
  const kind = REFUSAL_KINDS[refusal.kind];
  const extra = refusal.field ? { field: refusal.field } : {};
  return { status: PROBLEM_KINDS[kind].status, body: problem(kind, refusal.detail, extra) };
}
