/**
 * The cold-start baseline: a hello-world Hono app on Lambda that makes the same SDK clients as the
 * handler it is measured against (with the bridge's timeouts). What a handler's init costs above its
 * baseline is its own code: routes, schemas, middleware, logger and metrics.
 */

/** The SDK clients a handler's bundle can hold, by the package that brings each. */
export const SDK_CLIENTS = {
  "@aws-sdk/client-dynamodb": {
    label: "DynamoDB",
    source: `import { createDynamoDbClient } from "./functions/adapters/dynamodb/client.ts";`,
    make: "createDynamoDbClient({ region })",
  },
  "@aws-sdk/client-sqs": {
    label: "SQS",
    source: `import { createSqsClient } from "./functions/adapters/sqs/client.ts";`,
    make: "createSqsClient({ region })",
  },
  "@aws-sdk/client-sns": {
    label: "SNS",
    source: `import { createSnsClient } from "./functions/adapters/sns/client.ts";`,
    make: "createSnsClient({ region })",
  },
  "@aws-sdk/client-secrets-manager": {
    label: "Secrets Manager",
    source: `import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";`,
    make: "new SecretsManagerClient({ region })",
  },
} as const;

export type SdkClientPackage = keyof typeof SDK_CLIENTS;

/** The baseline's source, resolved from the project root, for the given clients. */
export function helloHandlerSource(clients: readonly SdkClientPackage[]): string {
  const used = clients.map((name) => SDK_CLIENTS[name]);
  return [
    `import { Hono } from "hono";`,
    `import { handle } from "hono/aws-lambda";`,
    ...used.map((client) => client.source),
    `const region = process.env.AWS_REGION ?? "us-east-1";`,
    `const clients = [${used.map((client) => client.make).join(", ")}];`,
    `const app = new Hono().get("/", (c) => c.json({ hello: "world", clients: clients.length }));`,
    "export const handler = handle(app);",
  ].join("\n");
}
