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
