/**
 * The cold-start baseline: a hello-world Hono app on Lambda that makes the same SDK clients as the
 * handler it is measured against (with the bridge's timeouts). What a handler's init costs above its
 * baseline is its own code: routes, schemas, middleware, logger and metrics.
 */

/**
 * The SDK clients a handler's bundle can hold, by the package that brings each: the label, the factory
 * the bridge makes it with (a `new` for a class) and the module it comes from.
 */
export const SDK_CLIENTS = {
  "@aws-sdk/client-dynamodb": ["DynamoDB", "createDynamoDbClient", "./functions/adapters/dynamodb/client.ts"],
  "@aws-sdk/client-sqs": ["SQS", "createSqsClient", "./functions/adapters/sqs/client.ts"],
  "@aws-sdk/client-sns": ["SNS", "createSnsClient", "./functions/adapters/sns/client.ts"],
  "@aws-sdk/client-secrets-manager": [
    "Secrets Manager",
    "SecretsManagerClient",
    "@aws-sdk/client-secrets-manager",
  ],
} as const;

export type SdkClientPackage = keyof typeof SDK_CLIENTS;

/** The baseline's source, resolved from the project root, for the given clients. */
export function helloHandlerSource(clients: readonly SdkClientPackage[]): string {
  const used = clients.map((name) => SDK_CLIENTS[name]);
  const make = (factory: string) => (factory.startsWith("create") ? factory : `new ${factory}`);
  return [
    `import { Hono } from "hono";`,
    `import { handle } from "hono/aws-lambda";`,
    ...used.map(([, factory, from]) => `import { ${factory} } from "${from}";`),
    `const region = process.env.AWS_REGION ?? "us-east-1";`,
    `const clients = [${used.map(([, factory]) => `${make(factory)}({ region })`).join(", ")}];`,
    `const app = new Hono().get("/", (c) => c.json({ hello: "world", clients: clients.length }));`,
    "export const handler = handle(app);",
  ].join("\n");
}

/** A client's label: `SNS`. */
export const clientLabel = (name: SdkClientPackage) => SDK_CLIENTS[name][0];

/**
 * The least an ingest the brief allows holds at init, for the same clients: the hello-world plus
 * Powertools' Logger and Metrics, the bearer check, the device contract's, EMQX's and the shadow's valibot
 * schemas (all of them kept, as the ingest validates every route) and the secrets loader every deployed function
 * runs first (Powertools Parameters, imported only when a `*_SECRET_ARN` names a secret, as in the
 * ingest). What the ingest's init costs above it is the code of its own edge, domain and adapters.
 */
export function leastIngestSource(clients: readonly SdkClientPackage[]): string {
  const hello = helloHandlerSource(clients).split("\n");
  const app = hello.findIndex((line) => line.startsWith("const app ="));
  return [
    ...hello.slice(0, app),
    `import { Logger } from "@aws-lambda-powertools/logger";`,
    `import { Metrics } from "@aws-lambda-powertools/metrics";`,
    `import * as v from "valibot";`,
    `import * as contract from "./functions/core/schemas/index.ts";`,
    `import * as shadow from "./functions/core/schemas/shadow.ts";`,
    `import { bearerAuth } from "./functions/http/bearer-auth.ts";`,
    `import { loadSecretsIntoEnv } from "./functions/adapters/secrets.ts";`,
    "await loadSecretsIntoEnv();",
    `const logger = new Logger({ serviceName: "least" });`,
    `const metrics = new Metrics({ namespace: "least", serviceName: "least" });`,
    `const app = new Hono().use("*", bearerAuth([process.env.INGEST_TOKENS ?? ""])).post("/", async (c) => {`,
    "  const schemas = { ...contract, ...shadow };",
    "  const event = v.parse(schemas.EmqxRuleEvent, await c.req.json());",
    `  logger.debug("event", { event });`,
    `  metrics.addMetric("events", "Count", 1);`,
    "  return c.json({ clients: clients.length, schemas: Object.keys(schemas).length });",
    "});",
    ...hello.slice(app + 1),
  ].join("\n");
}
