import { Logger } from "@aws-lambda-powertools/logger";
import { handle } from "hono/aws-lambda";
import { awsClients, createApiDeps } from "../adapters/aws-deps.ts";
import { ApiConfig, readConfig } from "../adapters/config.ts";
import { countingCommandStore } from "../adapters/counting-command-store.ts";
import { brokerSessionsFromConfig } from "../adapters/emqx/sessions-client.ts";
import { lambdaEntry } from "../adapters/lambda-boot.ts";
import { installLazySourceMaps } from "../adapters/lazy-source-maps.ts";
import { createMetrics, METRICS_SERVICE } from "../adapters/metrics.ts";
import { loadSecretsIntoEnv } from "../adapters/secrets.ts";
import { createApiApp } from "./app.ts";
import { appRequestsDeps } from "./mqtt-requests/deps.ts";

// Errors printed with their TypeScript lines; the source map is read only then (not at init).
installLazySourceMaps();

// Cold start: every NAME_SECRET_ARN secret becomes NAME before the config is read (once per environment).
await loadSecretsIntoEnv();
const config = readConfig(ApiConfig, process.env);
const logger = new Logger({ serviceName: "bridge-api" });
const metrics = createMetrics(METRICS_SERVICE.api);
const clients = awsClients(config);
const deps = createApiDeps(config, clients);
const app = createApiApp(
  {
    ...deps,
    commands: countingCommandStore(deps.commands, metrics),
    sessions: brokerSessionsFromConfig(config),
    deviceTokenSecrets: config.DEVICE_TOKEN_SECRETS ?? [],
    // The API over MQTT: answers through EMQX's publish API with the same (administrator) key as the kicks.
    appRequests: appRequestsDeps({
      tokens: config.INGEST_TOKENS,
      dynamodb: clients.dynamodb,
      tableName: config.TABLE_NAME,
      emqx: { baseUrl: config.EMQX_API_URL, apiKey: config.EMQX_API_KEY, apiSecret: config.EMQX_API_SECRET },
    }),
  },
  { logger, liveBrokerWsUrl: config.LIVE_BROKER_WS_URL },
);
/**
 * Lambda entry (Function URL / API Gateway v2): the same app the tests serve over a socket. Every log line
 * carries the request id; EMF metrics (command statuses) are written once per request.
 */
export const handler = lambdaEntry(handle(app), { logger, metrics });
