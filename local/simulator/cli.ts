import { parseArgs } from "node:util";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { readSession } from "../session-file.ts";
import { DEFAULT_LOCAL } from "../settings.ts";
import { formatJobReport, runJobSimulation } from "./jobs.ts";
import { formatReport, runSimulation } from "./run.ts";
import { formatShadowReport, runShadowSimulation } from "./shadow.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const USAGE = `usage: npm run sim -- --devices N --punches M [--dup-rate R]
  --devices N       simulated terminals, each a real MQTT client with a last will (default 20)
  --punches M       punches per device (default 50)
  --dup-rate R      share of punches sent twice, 0..1 (default 0.2)
  --commands K      also send K commands per device through the command API (the last one an unknown op)
                    and follow each to its final status (default 0)
  --job OP          run one job of OP on --devices devices (a fresh group) and print its executions' statuses;
                    devices ack known ops and fail unknown ones. With it: --per-minute N (rollout),
                    --fail-percent P (that share of devices fails every op), --abort-percent P (abort rule)
  --shadow          device shadows on --devices devices: desired set twice while offline, delta at connect,
                    applied and reported, one more change online; prints a table (local/simulator/shadow.ts)
  --api URL         command API (default: from the running 'npm start')
  --api-key KEY     command API key (default: from the running 'npm start')
  --mqtt URL        broker (default ${DEFAULT_LOCAL.mqttUrl})
  --secret S        fleet secret the devices' MQTT passwords (device tokens) derive from (default: the first
                    of DEVICE_TOKEN_SECRETS, else the running 'npm start')
  --dynamodb URL    DynamoDB endpoint to read back from (default ${DEFAULT_LOCAL.dynamodbEndpoint})
  --sqs URL         SQS endpoint to read back from (default ${DEFAULT_LOCAL.sqsEndpoint})
  --table NAME      (default ${DEFAULT_LOCAL.tableName})   --queue NAME (default ${DEFAULT_LOCAL.eventsQueue})
Needs 'npm start' running in another terminal.`;

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: "string", default: "20" },
      punches: { type: "string", default: "50" },
      "dup-rate": { type: "string", default: "0.2" },
      mqtt: { type: "string", default: DEFAULT_LOCAL.mqttUrl },
      dynamodb: { type: "string", default: DEFAULT_LOCAL.dynamodbEndpoint },
      sqs: { type: "string", default: DEFAULT_LOCAL.sqsEndpoint },
      table: { type: "string", default: DEFAULT_LOCAL.tableName },
      queue: { type: "string", default: DEFAULT_LOCAL.eventsQueue },
      commands: { type: "string", default: "0" },
      api: { type: "string" },
      "api-key": { type: "string" },
      secret: { type: "string" },
      job: { type: "string" },
      "per-minute": { type: "string" },
      "fail-percent": { type: "string", default: "0" },
      "abort-percent": { type: "string" },
      help: { type: "boolean", default: false },
      shadow: { type: "boolean", default: false },
    },
  });
  const devices = Number(values.devices);
  const punches = Number(values.punches);
  const dupRate = Number(values["dup-rate"]);
  if (values.help) return undefined;
  if (!Number.isInteger(devices) || devices < 1 || devices > 10_000)
    throw new Error("--devices must be 1..10000");
  if (!Number.isInteger(punches) || punches < 1 || punches > 100_000)
    throw new Error("--punches must be 1..100000");
  if (!(dupRate >= 0 && dupRate <= 1)) throw new Error("--dup-rate must be between 0 and 1");
  const commands = Number(values.commands);
  if (!Number.isInteger(commands) || commands < 0 || commands > 100)
    throw new Error("--commands must be 0..100");
  return { ...values, devices, punches, dupRate, commands };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  if (!args) {
    console.log(USAGE);
    return 0;
  }
  if (args.shadow) return runShadow(args);
  const aws = { region: "us-east-1", credentials: LOCAL_CREDENTIALS, requestTimeoutMs: 10_000 };
  const clients = {
    dynamodb: createDynamoDbClient({ ...aws, endpoint: args.dynamodb }),
    sqs: createSqsClient({ ...aws, endpoint: args.sqs }),
  };
  if (args.job) return runJob(args, args.job);
  try {
    const api = await commandApi(args);
    const secret = await fleetSecret(args.secret);
    const report = await runSimulation({
      ...(args.commands > 0 ? { commands: { perDevice: args.commands, api } } : {}),
      devices: args.devices,
      punches: args.punches,
      dupRate: args.dupRate,
      mqttUrl: args.mqtt,
      ...(secret ? { deviceTokenSecret: secret } : {}),
      tableName: args.table,
      eventsQueue: args.queue,
      clients,
    });
    console.log(formatReport(report));
    const commandsDone = !report.commands || report.commands.byStatus["not final"] === undefined;
    return report.stored === report.unique && report.fannedOut === report.unique && commandsDone ? 0 : 1;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`simulation failed: ${message}\nIs 'npm start' running? (${args.mqtt})`);
    return 1;
  } finally {
    clients.dynamodb.destroy();
    clients.sqs.destroy();
  }
}

async function commandApi(args: { api?: string; "api-key"?: string; commands: number }) {
  if (args.commands === 0) return { url: "", key: "" };
  const session = await readSession();
  const url = args.api ?? session?.apiUrl;
  const key = args["api-key"] ?? session?.apiKey;
  if (!url || !key) throw new Error("--commands needs --api and --api-key, or a running 'npm start'");
  return { url, key };
}

/** Devices log in with tokens from this secret; without one they connect without a password (auth off). */
async function fleetSecret(given: string | undefined): Promise<string | undefined> {
  const fromEnv = process.env.DEVICE_TOKEN_SECRETS?.split(",")[0]?.trim();
  return given ?? (fromEnv || (await readSession())?.deviceTokenSecret);
}

/** `--job OP`: local/simulator/jobs.ts. */
async function runJob(args: NonNullable<ReturnType<typeof parse>>, op: string): Promise<number> {
  try {
    const api = await commandApi({ ...args, commands: 1 });
    const secret = await fleetSecret(args.secret);
    const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
    const run = await runJobSimulation({
      devices: args.devices,
      op,
      mqttUrl: args.mqtt,
      api,
      failPercent: number(args["fail-percent"]) ?? 0,
      ...(args["per-minute"] ? { perMinute: Number(args["per-minute"]) } : {}),
      ...(args["abort-percent"] ? { abortPercent: Number(args["abort-percent"]) } : {}),
      ...(secret ? { deviceTokenSecret: secret } : {}),
    });
    console.log(formatJobReport(run));
    return run.job.status === "in_progress" ? 1 : 0;
  } catch (error) {
    console.error(`job simulation failed: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
}

/** `--shadow`: local/simulator/shadow.ts; exit 1 when a shadow is still out of sync. */
async function runShadow(args: {
  devices: number;
  mqtt: string;
  api?: string;
  "api-key"?: string;
  secret?: string;
}) {
  try {
    const api = await commandApi({ ...args, commands: 1 });
    const secret = await fleetSecret(args.secret);
    const run = await runShadowSimulation({
      devices: args.devices,
      mqttUrl: args.mqtt,
      api,
      ...(secret ? { deviceTokenSecret: secret } : {}),
    });
    console.log(formatShadowReport(run));
    return run.rows.every((row) => row.inSync) ? 0 : 1;
  } catch (error) {
    console.error(`shadow simulation failed: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
}

main().then((code) => process.exit(code));
