import type { TestProject } from "vitest/node";
import { startDynamoDbLocal } from "../../local/services/dynamodb-local.ts";
import { startSqsLocal } from "../../local/services/sqs-local.ts";

declare module "vitest" {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    sqsEndpoint: string;
  }
}

/** One DynamoDB Local and one SQS stand-in for the whole run; each test file makes its own table and queues. */
export default async function setup(project: TestProject) {
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  project.provide("dynamodbEndpoint", dynamodb.endpoint);
  project.provide("sqsEndpoint", sqs.endpoint);
  return async () => {
    await Promise.all([dynamodb.stop(), sqs.stop()]);
  };
}
