/**
 * `npm run invoke -- <ingest|api|publisher> <event.json>`: runs a real Lambda entry
 * (`functions/<name>/handler.ts`, secrets loading included) once with a sample event from `test/events/`,
 * against the DynamoDB Local and SQS stand-in of a running `npm start`, and prints what Lambda would return.
 * Any variable already set wins (e.g. `EMQX_API_KEY=... EMQX_API_SECRET=... npm run invoke -- publisher ...`).
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { createSqsClient } from "../functions/adapters/sqs/client.ts";
import { readSession, SESSION_FILE } from "./session-file.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** Module and Lambda timeout (as in infra/lib/emqx-bridge.ts) of each function. */
const FUNCTIONS = {
  ingest: { module: "../functions/ingest/handler.ts", timeoutMs: 15_000 },
  api: { module: "../functions/api/handler.ts", timeoutMs: 15_000 },
  publisher: { module: "../functions/publisher/handler.ts", timeoutMs: 30_000 },
} as const;
type FunctionName = keyof typeof FUNCTIONS;

/** The credentials the sample events in test/events/ carry (test values, never deployed). */
export const SAMPLE_CREDENTIALS = {
  INGEST_TOKENS: "test-token-0123456789abcdef",
  API_KEYS: "test-api-key-0123456789abcdef",
} as const;

/** `npm start`'s commands queue (local/stack.ts) and EMQX stand-in API (local/settings.ts). */
const LOCAL_COMMANDS_QUEUE = "bridge-commands.fifo";
const LOCAL_EMQX_API_URL = "http://127.0.0.1:18083/api/v5";

const USAGE = `usage: npm run invoke -- <ingest|api|publisher> <event.json>
  e.g.  npm run invoke -- ingest test/events/ingest-attendance.json
        npm run invoke -- api test/events/api-create-command.json
        EMQX_API_KEY=... EMQX_API_SECRET=... npm run invoke -- publisher test/events/publisher-commands.json
Needs 'npm start' running in another terminal (its DynamoDB Local and SQS stand-in are used).
INGEST_TOKENS and API_KEYS default to the test credentials in the sample events; the publisher calls the
EMQX stand-in (${LOCAL_EMQX_API_URL}) with EMQX_API_KEY/EMQX_API_SECRET from the npm start banner.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [name, eventFile, ...rest] = argv;
  if (name === "--help" || name === "-h") {
    console.log(USAGE);
    return 0;
  }
  if (!name || !(name in FUNCTIONS) || !eventFile || rest.length > 0) throw new UsageError(USAGE);
  const fn = FUNCTIONS[name as FunctionName];
  const event: unknown = JSON.parse(await readFile(eventFile, "utf8"));
  await wireLocalStack();
  const { handler } = (await import(fn.module)) as { handler: (event: unknown, context: unknown) => unknown };
  const started = Date.now();
  const result = await handler(event, lambdaContext(name, fn.timeoutMs, started));
  console.log(`\n--- ${name} returned in ${Date.now() - started} ms ---`);
  console.log(JSON.stringify(readable(result), null, 2));
  return 0;
}

/** Points the handler's config at the running local stack; values already in the environment win. */
async function wireLocalStack(): Promise<void> {
  const session = await readSession();
  if (!session) {
    throw new UsageError(
      `no local stack is running (${SESSION_FILE} is missing): start it with 'npm start' in another terminal.`,
    );
  }
  const env = process.env;
  env.AWS_REGION ??= "us-east-1";
  env.AWS_ACCESS_KEY_ID ??= "local";
  env.AWS_SECRET_ACCESS_KEY ??= "local";
  env.DYNAMODB_ENDPOINT ??= session.dynamodbEndpoint;
  env.SQS_ENDPOINT ??= session.sqsEndpoint;
  env.TABLE_NAME ??= session.tableName;
  const sqs = createSqsClient({
    endpoint: env.SQS_ENDPOINT,
    region: env.AWS_REGION,
    requestTimeoutMs: 3_000,
  });
  try {
    env.EVENTS_QUEUE_URL ??= await queueUrl(sqs, session.eventsQueue);
    env.COMMANDS_QUEUE_URL ??= await queueUrl(sqs, LOCAL_COMMANDS_QUEUE);
  } catch (error) {
    throw new UsageError(
      `the local stack in ${SESSION_FILE} does not answer (${error instanceof Error ? error.message : error}); is 'npm start' still running?`,
    );
  } finally {
    sqs.destroy();
  }
  env.INGEST_TOKENS ??= SAMPLE_CREDENTIALS.INGEST_TOKENS;
  env.API_KEYS ??= SAMPLE_CREDENTIALS.API_KEYS;
  env.EMQX_API_URL ??= LOCAL_EMQX_API_URL;
  env.EMQX_API_KEY ??= "set-EMQX_API_KEY-from-the-npm-start-banner";
  env.EMQX_API_SECRET ??= "set-EMQX_API_SECRET-from-the-npm-start-banner";
}

async function queueUrl(sqs: ReturnType<typeof createSqsClient>, name: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`no queue ${name}`);
  return QueueUrl;
}

/** What Lambda hands a handler besides the event; the remaining time counts down from the timeout. */
function lambdaContext(name: string, timeoutMs: number, started: number) {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `local-${name}`,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:local-${name}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/local-${name}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
  };
}

/** An HTTP answer with its JSON body parsed, so it prints readably. */
function readable(result: unknown): unknown {
  if (!result || typeof result !== "object" || !("body" in result) || typeof result.body !== "string") {
    return result;
  }
  try {
    return { ...result, body: JSON.parse(result.body) as unknown };
  } catch {
    return result;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof UsageError ? error.message : error);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
