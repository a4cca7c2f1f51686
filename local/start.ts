import { readConfig } from "../functions/adapters/config.ts";
import { describeHolder, portHolder } from "./services/port-holder.ts";
import { removeSession, writeSession } from "./session-file.ts";
import { LocalSettings } from "./settings.ts";
import { type LocalStack, startLocalStack } from "./stack.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// package.json runs this with `exec`, so npm signals this process and not an intermediate sh.
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** A stop that takes longer than this is cut short; the exit hooks still kill DynamoDB Local. */
const STOP_DEADLINE_MS = 10_000;

/** `npm start`: the whole bridge on this machine, until Ctrl-C (or SIGTERM, SIGHUP, or its parent ends). */
async function main(): Promise<void> {
  const settings = readConfig(LocalSettings, process.env);
  const ports = {
    dynamodb: settings.DYNAMODB_PORT,
    sqs: settings.SQS_PORT,
    mqtt: settings.MQTT_PORT,
    mqttWs: settings.MQTT_WS_PORT,
    ingest: settings.INGEST_PORT,
    api: settings.API_PORT,
    emqxApi: settings.EMQX_API_PORT,
  };
  await refuseTakenPorts(Object.values(ports), settings.BRIDGE_HOST);
  const lifecycle = stopOnSignalsAndParentExit();
  console.log("Starting the local bridge (DynamoDB Local takes a few seconds)...");
  const stack = await startLocalStack({
    host: settings.BRIDGE_HOST,
    ports,
    dynamodbLocal: {
      timeoutMs: settings.DYNAMODB_LOCAL_TIMEOUT_S * 1000,
      onProgress: (line) => console.log(line),
    },
    ...secretsFrom(settings),
    logLevel: settings.LOG_LEVEL,
    log: (line) => console.log(`[emqx] ${line}`),
  });
  await writeSession({
    pid: process.pid,
    apiUrl: stack.endpoints.api,
    apiKey: stack.apiKeys[0] as string,
    ingestUrl: stack.endpoints.ingest,
    ingestToken: stack.ingestTokens[0] as string,
    emqxApiKey: stack.emqxApiKey,
    emqxApiSecret: stack.emqxApiSecret,
    ...(stack.deviceTokenSecrets[0] ? { deviceTokenSecret: stack.deviceTokenSecrets[0] } : {}),
    mqttUrl: stack.endpoints.mqtt,
    dynamodbEndpoint: stack.endpoints.dynamodb,
    sqsEndpoint: stack.endpoints.sqs,
    tableName: stack.tableName,
    eventsQueue: stack.eventsQueueUrl.split("/").pop() ?? "bridge-events",
  });
  console.log(banner(stack));
  lifecycle.running(stack);
}

function secretsFrom(settings: LocalSettings) {
  const deviceSecrets = (settings.DEVICE_TOKEN_SECRETS ?? "")
    .split(",")
    .map((secret) => secret.trim())
    .filter(Boolean);
  return {
    ...(settings.INGEST_TOKENS ? { ingestTokens: settings.INGEST_TOKENS.split(",") } : {}),
    ...(deviceSecrets.length ? { deviceTokenSecrets: deviceSecrets } : {}),
    ...(settings.API_KEYS ? { apiKeys: settings.API_KEYS.split(",") } : {}),
    ...(settings.EMQX_API_KEY ? { emqxApiKey: settings.EMQX_API_KEY } : {}),
    ...(settings.EMQX_API_SECRET ? { emqxApiSecret: settings.EMQX_API_SECRET } : {}),
  };
}

/** Fails before starting anything, naming the process behind each taken port (a leftover start, say). */
async function refuseTakenPorts(ports: number[], host: string): Promise<void> {
  const taken: string[] = [];
  for (const port of ports.filter((p) => p > 0)) {
    const holder = await portHolder(port, host);
    if (holder) taken.push(describeHolder(port, holder));
  }
  if (taken.length > 0) {
    throw new Error(
      `${taken.join("\n")}\nStop that process, or choose other ports (see the README's env vars).`,
    );
  }
}

/**
 * SIGINT, SIGTERM and SIGHUP stop everything, and so does the end of the parent process (npm killed with
 * SIGKILL or SIGHUP): otherwise this process and DynamoDB Local would hold the ports for the next start.
 * A signal during startup exits at once; the exit hook of DynamoDB Local kills it.
 */
function stopOnSignalsAndParentExit() {
  let stack: LocalStack | undefined;
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${reason}: stopping...`);
    if (!stack) process.exit(1);
    setTimeout(() => process.exit(1), STOP_DEADLINE_MS).unref();
    await stack.stop();
    await removeSession();
    console.log("stopped.");
    process.exit(0);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => void stop(signal));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop(`parent process ${parent} exited`);
  }, 500).unref();
  return {
    running: (started: LocalStack) => {
      stack = started;
    },
  };
}

/** What is running and how to try it. Secrets are never printed: commands read them with `local-secret`. */
function banner(stack: LocalStack): string {
  const e = stack.endpoints;
  const sn = "SN0001";
  const punch = `{"user_id":"1001","att_time":"${new Date().toISOString().slice(0, 19)}+00:00","att_state":0}`;
  const body = JSON.stringify({
    id: "0006054DC3E940F8F445000038A60002",
    clientid: sn,
    username: "undefined",
    event: "message.publish",
    topic: `api/mqtt/v1/${sn}/evt`,
    payload: punch,
    qos: 1,
    publish_received_at: Date.now(),
    metadata: { rule_id: "bridge_attendance" },
  });
  const httpSn = "SN0002";
  return `
emqx-serverless-bridge is running locally
  MQTT broker (aedes)      ${e.mqtt}   websocket ${e.mqttWs}
                           authentication on: a device logs in with client id = username = its sn and
                           password = its device token: npm run -s device-token -- --sn SN0001
                           an app with username = an API key's name, password = the key (npm run api-key)
  EMQX stand-in API        ${e.emqxApi}   (Basic: npm run -s local-secret -- emqx-api)
  ingest (Hono)            ${e.ingest}/emqx/rule-events   (Bearer: npm run -s local-secret -- ingest-token)
  HTTP devices             ${e.ingest}/v1/devices/{sn}/evt|st|ack   (Bearer: the device's own token)
                           DEVICE_TOKEN=$(npm run -s device-token -- --sn {sn})   (reads this run's secret)
  command API (Hono)       ${e.api}/v1/devices/{sn}/commands   (Bearer: npm run -s local-secret -- api-key)
  live fleet page          ${e.api}/v1/live   (paste an app key: npm run -s api-key -- create --name dashboard --scopes read,commands)
  publisher                polling ${stack.commandsQueueUrl.split("/").pop()} → EMQX stand-in /publish/bulk
  DynamoDB Local           ${e.dynamodb}   table ${stack.tableName}
  SQS stand-in (fauxqs)    ${e.sqs}
    events queue           ${stack.eventsQueueUrl}
  rules loaded from        emqx-rules/generated/

Try it (each command reads this run's secrets from the running stack; none is printed):
  npx mqtt pub -h 127.0.0.1 -p ${new URL(e.mqtt).port} -i ${sn} -u ${sn} -P "$(npm run -s device-token -- --sn ${sn})" \\
       -q 1 -t api/mqtt/v1/${sn}/evt -m '${punch}'
  curl -s -X POST ${e.ingest}/emqx/rule-events -H "authorization: Bearer $(npm run -s local-secret -- ingest-token)" \\
       -H 'content-type: application/json' -d '${body}'
${stack.deviceTokenSecrets[0] ? httpDeviceExample(e.ingest, httpSn, punch) : ""}  curl -s -X POST ${e.api}/v1/devices/${sn}/commands -H "authorization: Bearer $(npm run -s local-secret -- api-key)" \\
       -H 'content-type: application/json' -d '{"op":"sync_user","data":{"user_id":"1001"},"ttlSeconds":300}'
  npm run sim -- --devices 20 --punches 50 --dup-rate 0.2 --commands 3

Ctrl-C stops everything (all data is in memory).`;
}

function httpDeviceExample(ingestUrl: string, sn: string, punch: string): string {
  return `  curl -s -X POST ${ingestUrl}/v1/devices/${sn}/evt -H "authorization: Bearer $(npm run -s device-token -- --sn ${sn})" \\
       -H 'content-type: application/json' -d '${punch}'
`;
}

main().catch((error) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
