import { Hono } from "hono";
import { METRIC } from "../core/metrics.ts";
import { bearerAuth } from "../http/bearer-auth.ts";
import { exceptUnder } from "../http/except-under.ts";
import { answerErrors } from "../http/on-error.ts";
import { problemResponse } from "../http/problems.ts";
import { brokerAccessDeps, brokerAccessOptions } from "./broker-access.ts";
import { registerBrokerAuthRoute } from "./routes/broker-auth.ts";
import { DEVICE_FOLDER, registerDeviceRoutes } from "./routes/devices.ts";
import { registerEmqxRoutes } from "./routes/emqx.ts";
import type { IngestDeps, IngestEnv, IngestOptions } from "./types.ts";

export { BROKER_AUTH_PATH } from "./routes/broker-auth.ts";
export { RULE_EVENTS_PATH } from "./routes/emqx.ts";

/**
 * The ingest: EMQX rule events (`POST /emqx/rule-events`) and HTTP devices (`POST /v1/devices/{sn}/evt|st|ack`)
 * in, attendance, presence and command answers stored and fanned out, by the same code for both.
 *
 * Auth: EMQX's bearer tokens everywhere except `/v1/devices/*`, which takes only the token derived for
 * the device of the path. Answers: 200 stored (or a duplicate, or ignored); 4xx bad input, quarantined;
 * 503 transient, the sender retries. Never 500/502/504, which EMQX drops without retry.
 */
export function createIngestApp(deps: IngestDeps, options: IngestOptions) {
  const app = new Hono<IngestEnv>();

  // EMF metrics are written once per request, whatever the answer.
  app.use("*", async (_c, next) => {
    try {
      await next();
    } finally {
      options.metrics?.flush();
    }
  });
  app.use("*", exceptUnder(DEVICE_FOLDER, bearerAuth(options.tokens)));
  registerEmqxRoutes(app, deps, options);
  registerBrokerAuthRoute(app, brokerAccessDeps(deps, options), brokerAccessOptions(options));
  registerDeviceRoutes(app, deps, options);

  app.notFound((c) => problemResponse(c, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  // What routes do not answer themselves (the quarantine flow, `processAndAnswer`, does): a bad query, an outage.
  const unavailable = () => options.metrics?.count(METRIC.Unavailable503);
  app.onError(answerErrors({ logger: options.logger, onUnavailable: unavailable }));
  return app;
}
