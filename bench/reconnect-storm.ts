/**
 * `npx tsx bench/reconnect-storm.ts [--devices 2000]`: every device of a fleet connects at once to the
 * EMQX stand-in with broker authentication on, as after a broker restart, against the ingest's
 * `POST /emqx/authn` on DynamoDB Local. Three storms: first logins (devices register themselves), the
 * reconnect of the same fleet, and a fleet of forged tokens. Printed as a table: connects per second,
 * CONNECT→CONNACK and authentication-route latency (p50/p99), and DynamoDB calls per login, counted by a
 * middleware on the client the login path uses. Figures are for this machine and the stand-ins: the
 * broker, the stand-in, the ingest and all the clients share one Node process here.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Logger } from "@aws-lambda-powertools/logger";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import mqtt, { type MqttClient } from "mqtt";
import { createAwsDeps } from "../functions/adapters/aws-deps.ts";
import { DynamoDbApiKeyStore } from "../functions/adapters/dynamodb/api-key-store.ts";
import { createDynamoDbClient } from "../functions/adapters/dynamodb/client.ts";
import { DynamoDbDeviceRegistry } from "../functions/adapters/dynamodb/device-registry.ts";
import { createSqsClient } from "../functions/adapters/sqs/client.ts";
import { deriveDeviceToken } from "../functions/core/device-token.ts";
import { createIngestApp } from "../functions/ingest/app.ts";
import { startEmqxStandIn } from "../local/emqx/index.ts";
import { provision } from "../local/provision.ts";
import { startBroker } from "../local/services/broker.ts";
import { startDynamoDbLocal } from "../local/services/dynamodb-local.ts";
import { serveApp } from "../local/services/http-server.ts";
import { startSqsLocal } from "../local/services/sqs-local.ts";
import { RULES_DIR } from "../local/stack.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
process.env.AWS_ACCESS_KEY_ID ??= "local";
process.env.AWS_SECRET_ACCESS_KEY ??= "local";

const SECRET = "reconnect-storm-fleet-secret-0123456789";
const INGEST_TOKEN = "reconnect-storm-ingest-token";

/** DynamoDB calls by command name, counted before the SDK sends them. */
class CallCounter {
  readonly calls = new Map<string, number>();
  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => (args) => {
        this.calls.set(context.commandName ?? "?", (this.calls.get(context.commandName ?? "?") ?? 0) + 1);
        return next(args);
      },
      { step: "initialize", name: "countDynamoDbCalls" },
    );
  }
  snapshot(): Map<string, number> {
    return new Map(this.calls);
  }
}

interface StormResult {
  name: string;
  devices: number;
  accepted: number;
  refused: number;
  /** Of the refused, those let in on their next try (once, all together, after the storm drained). */
  acceptedOnRetry: number;
  seconds: number;
  connectMs: number[];
  authMs: number[];
  calls: Map<string, number>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { devices: { type: "string", default: "2000" }, "without-rule-events": { type: "boolean" } },
  });
  const devices = Number(values.devices);
  const stack = await startStormStack(values["without-rule-events"] === true);
  try {
    const sns = Array.from({ length: devices }, (_, i) => `STORM${String(i).padStart(5, "0")}`);
    const honest = (sn: string) => deriveDeviceToken(SECRET, sn);
    const results: StormResult[] = [];
    console.error(`storm 1/3: ${devices} devices log in for the first time, all at once`);
    results.push(await storm(stack, "first login (registers)", sns, honest));
    console.error(`storm 2/3: the same ${devices} devices reconnect at once`);
    results.push(await storm(stack, "reconnect storm", sns, honest));
    console.error(`storm 3/3: ${devices} clients with forged tokens`);
    results.push(
      await storm(stack, "forged tokens (HMAC fails)", sns, (sn) => deriveDeviceToken("x".repeat(40), sn)),
    );
    console.log(formatTable(results));
  } finally {
    await stack.stop();
  }
}

/** DynamoDB Local, the SQS stand-in, the ingest (login path on a counted client), aedes and the stand-in. */
async function startStormStack(withoutRuleEvents: boolean) {
  const stops: Array<() => Promise<void>> = [];
  const dynamo = await startDynamoDbLocal(0);
  stops.push(() => dynamo.stop());
  const sqs = await startSqsLocal(0);
  stops.push(() => sqs.stop());
  const aws = { region: "us-east-1", requestTimeoutMs: 10_000 };
  const clients = {
    dynamodb: createDynamoDbClient({ ...aws, endpoint: dynamo.endpoint }),
    sqs: createSqsClient({ ...aws, endpoint: sqs.endpoint }),
  };
  const resources = await provision(clients, {
    tableName: "storm",
    eventsQueue: "storm-events",
    commandsQueue: "storm-commands",
  });
  const counter = new CallCounter();
  const loginClient = createDynamoDbClient({ ...aws, endpoint: dynamo.endpoint });
  counter.attach(loginClient);
  const deps = {
    ...createAwsDeps({
      TABLE_NAME: resources.tableName,
      EVENTS_QUEUE_URL: resources.eventsQueueUrl,
      COMMANDS_QUEUE_URL: resources.commandsQueueUrl,
      AWS_REGION: "us-east-1",
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      SQS_ENDPOINT: sqs.endpoint,
    }),
    devices: new DynamoDbDeviceRegistry(loginClient, resources.tableName),
    keys: new DynamoDbApiKeyStore(loginClient, resources.tableName),
  };
  const app = createIngestApp(deps, {
    tokens: [INGEST_TOKEN],
    deviceTokenSecrets: [SECRET],
    deadlineMs: 8_000,
    maxBodyBytes: 256 * 1024,
    logger: new Logger({ serviceName: "storm", logLevel: "SILENT" }),
  });
  const authMs: number[] = [];
  const ingest = await serveApp(timedAuth(app.fetch, authMs));
  stops.push(() => ingest.stop());
  const broker = await startBroker();
  stops.push(() => broker.stop());
  const emqx = await startEmqxStandIn({
    broker: broker.broker,
    rulesDir: withoutRuleEvents ? noRulesDir() : RULES_DIR,
    ingestUrl: ingest.url,
    ingestToken: INGEST_TOKEN,
    access: { dir: RULES_DIR },
    log: () => undefined,
  });
  stops.push(() => emqx.stop());
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
    for (const client of [clients.dynamodb, clients.sqs, loginClient]) client.destroy();
  };
  return { mqttUrl: broker.mqttUrl, counter, authMs, emqx, stop };
}

/**
 * The shipped connectors and actions without rules: the stand-in then posts no lifecycle events, so the
 * ingest in this same process only answers logins (`--without-rule-events`, to isolate authentication).
 */
function noRulesDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "storm-rules-"));
  for (const file of ["connectors.json", "actions.json"])
    copyFileSync(join(RULES_DIR, file), join(dir, file));
  writeFileSync(join(dir, "rules.json"), "[]");
  return dir;
}

type StormStack = Awaited<ReturnType<typeof startStormStack>>;

/** Times every `POST /emqx/authn` inside the server: the authentication route's own latency. */
function timedAuth(fetch: (request: Request) => Response | Promise<Response>, into: number[]) {
  return async (request: Request) => {
    if (!request.url.endsWith("/emqx/authn")) return fetch(request);
    const started = performance.now();
    const response = await fetch(request);
    into.push(performance.now() - started);
    return response;
  };
}

/** Every device connects at the same moment; then all disconnect and the stand-in drains its events. */
async function storm(
  stack: StormStack,
  name: string,
  sns: string[],
  password: (sn: string) => string,
): Promise<StormResult> {
  const before = stack.counter.snapshot();
  stack.authMs.length = 0;
  const connectMs: number[] = [];
  const started = performance.now();
  const outcomes = await Promise.all(
    sns.map((sn) => connectTimed(stack.mqttUrl, sn, password(sn), connectMs)),
  );
  const seconds = (performance.now() - started) / 1000;
  const connected = outcomes.filter((c): c is MqttClient => c !== undefined);
  const calls = difference(stack.counter.snapshot(), before);
  const authMs = [...stack.authMs];
  await Promise.all(connected.map((client) => client.endAsync()));
  await stack.emqx.idle();
  const refused = sns.filter((_, i) => outcomes[i] === undefined);
  const acceptedOnRetry = await nextTry(stack, refused, password);
  return {
    name,
    devices: sns.length,
    accepted: connected.length,
    refused: refused.length,
    acceptedOnRetry,
    seconds,
    connectMs,
    authMs,
    calls,
  };
}

/**
 * The refused devices' next try, as a device retries a refused CONNECT: whether a refusal in a storm costs
 * a device more than one retry. Not counted in the storm's timings or its DynamoDB calls.
 */
async function nextTry(stack: StormStack, sns: string[], password: (sn: string) => string) {
  const outcomes = await Promise.all(sns.map((sn) => connectTimed(stack.mqttUrl, sn, password(sn), [])));
  const connected = outcomes.filter((c): c is MqttClient => c !== undefined);
  await Promise.all(connected.map((client) => client.endAsync()));
  await stack.emqx.idle();
  return connected.length;
}

async function connectTimed(url: string, sn: string, password: string, into: number[]) {
  const started = performance.now();
  try {
    const client = await mqtt.connectAsync(
      url,
      {
        clientId: sn,
        username: sn,
        password,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 60_000,
      },
      // A connection closed before its CONNACK counts as refused instead of waiting forever.
      false,
    );
    into.push(performance.now() - started);
    return client;
  } catch {
    into.push(performance.now() - started);
    return undefined;
  }
}

function difference(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map(
    [...after].map(([name, n]) => [name, n - (before.get(name) ?? 0)]).filter(([, n]) => n !== 0) as [
      string,
      number,
    ][],
  );
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function formatTable(results: StormResult[]): string {
  const perLogin = (r: StormResult, commands: string[]) =>
    (commands.reduce((sum, c) => sum + (r.calls.get(c) ?? 0), 0) / r.devices).toFixed(2);
  const rows: Array<[string, (r: StormResult) => string]> = [
    ["clients connecting at once", (r) => String(r.devices)],
    ["accepted / refused", (r) => `${r.accepted} / ${r.refused}`],
    ["refused ones accepted on their next try", (r) => `${r.acceptedOnRetry} / ${r.refused}`],
    ["storm drained in (s)", (r) => r.seconds.toFixed(2)],
    ["connects per second", (r) => (r.devices / r.seconds).toFixed(0)],
    [
      "CONNECT→CONNACK p50 / p99 (ms)",
      (r) => `${ms(percentile(r.connectMs, 50))} / ${ms(percentile(r.connectMs, 99))}`,
    ],
    ["auth route p50 / p99 (ms)", (r) => `${ms(percentile(r.authMs, 50))} / ${ms(percentile(r.authMs, 99))}`],
    [
      "DynamoDB reads per login",
      (r) => perLogin(r, ["GetItemCommand", "QueryCommand", "BatchGetItemCommand"]),
    ],
    ["DynamoDB writes per login", (r) => perLogin(r, ["PutItemCommand", "UpdateItemCommand"])],
  ];
  const header = ["", ...results.map((r) => r.name)];
  const body = rows.map(([label, cell]) => [label, ...results.map(cell)]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => (row[i] as string).length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i] as number)).join(" | ")} |`;
  const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(header), rule, ...body.map(line)].join("\n");
}

const ms = (value: number) => value.toFixed(0);

main().catch((error) => {
  console.error(`reconnect storm failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
