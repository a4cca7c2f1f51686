import { Hono } from "hono";
import { handle } from "hono/aws-lambda";
import { createDynamoDbClient } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";

/**
 * The cold-start baseline: a hello-world Hono app on Lambda with the same SDK clients the handlers make
 * (DynamoDB and SQS, with the bridge's timeouts). What a handler's init costs above this is its own.
 */
const dynamodb = createDynamoDbClient({ region: process.env.AWS_REGION ?? "us-east-1" });
const sqs = createSqsClient({ region: process.env.AWS_REGION ?? "us-east-1" });
const app = new Hono().get("/", (c) => c.json({ hello: "world", clients: [typeof dynamodb, typeof sqs] }));

export const handler = handle(app);
