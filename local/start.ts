import { readConfig } from "../functions/adapters/config.ts";
import { deriveDeviceToken } from "../functions/core/device-token.ts";
import { removeSession, writeSession } from "./session-file.ts";
import { LocalSettings } from "./settings.ts";
import { type LocalStack, startLocalStack } from "./stack.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** `npm start`: the whole bridge on this machine, until Ctrl-C. */
async function main(): Promise<void> {
  const settings = readConfig(LocalSettings, process.env);
  console.log("Starting the local bridge (DynamoDB Local takes a few seconds)...");
  const deviceSecrets = (settings.DEVICE_TOKEN_SECRETS ?? "")
    .split(",")
    .map((secret) => secret.trim())
    .filter(Boolean);
  const stack = await startLocalStack({
    host: settings.BRIDGE_HOST,
    ports: {
      dynamodb: settings.DYNAMODB_PORT,
      sqs: settings.SQS_PORT,
      mqtt: settings.MQTT_PORT,
      mqttWs: settings.MQTT_WS_PORT,
      ingest: settings.INGEST_PORT,
      api: settings.API_PORT,
      emqxApi: settings.EMQX_API_PORT,
    },
    ...(settings.INGEST_TOKENS ? { ingestTokens: settings.INGEST_TOKENS.split(",") } : {}),
    ...(deviceSecrets.length ? { deviceTokenSecrets: deviceSecrets } : {}),
    ...(settings.API_KEYS ? { apiKeys: settings.API_KEYS.split(",") } : {}),
    ...(settings.EMQX_API_KEY ? { emqxApiKey: settings.EMQX_API_KEY } : {}),
    ...(settings.EMQX_API_SECRET ? { emqxApiSecret: settings.EMQX_API_SECRET } : {}),
    logLevel: settings.LOG_LEVEL,
    log: (line) => console.log(`[emqx] ${line}`),
  });
  await writeSession({
    apiUrl: stack.endpoints.api,
    apiKey: stack.apiKeys[0] as string,
    mqttUrl: stack.endpoints.mqtt,
    dynamodbEndpoint: stack.endpoints.dynamodb,
    sqsEndpoint: stack.endpoints.sqs,
    tableName: stack.tableName,
    eventsQueue: stack.eventsQueueUrl.split("/").pop() ?? "bridge-events",
  });
  console.log(banner(stack));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping...`);
    await stack.stop();
    await removeSession();
    console.log("stopped.");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

function banner(stack: LocalStack): string {
  const e = stack.endpoints;
  const token = stack.ingestTokens[0];
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
  const secret = stack.deviceTokenSecrets[0] as string;
  const httpSn = "SN0002";
  return `
emqx-serverless-bridge is running locally
  MQTT broker (aedes)      ${e.mqtt}   websocket ${e.mqttWs}
  EMQX stand-in API        ${e.emqxApi}   (Basic ${stack.emqxApiKey}:${stack.emqxApiSecret})
  ingest (Hono)            ${e.ingest}/emqx/rule-events   (Bearer ${token})
  HTTP devices             ${e.ingest}/v1/devices/{sn}/evt|st|ack   (Bearer: the device's own token)
                           npm run -s device-token -- --sn {sn} --secret ${secret}
  command API (Hono)       ${e.api}/v1/devices/{sn}/commands   (Bearer ${stack.apiKeys[0]})
  publisher                polling ${stack.commandsQueueUrl.split("/").pop()} → EMQX stand-in /publish/bulk
  DynamoDB Local           ${e.dynamodb}   table ${stack.tableName}
  SQS stand-in (fauxqs)    ${e.sqs}
    events queue           ${stack.eventsQueueUrl}
  rules loaded from        emqx-rules/generated/

Try it:
  npx mqtt pub -h 127.0.0.1 -p ${new URL(e.mqtt).port} -i ${sn} -q 1 -t api/mqtt/v1/${sn}/evt -m '${punch}'
  curl -s -X POST ${e.ingest}/emqx/rule-events -H 'authorization: Bearer ${token}' \\
       -H 'content-type: application/json' -d '${body}'
  curl -s -X POST ${e.ingest}/v1/devices/${httpSn}/evt -H 'authorization: Bearer ${deriveDeviceToken(secret, httpSn)}' \\
       -H 'content-type: application/json' -d '${punch}'
  curl -s -X POST ${e.api}/v1/devices/${sn}/commands -H 'authorization: Bearer ${stack.apiKeys[0]}' \\
       -H 'content-type: application/json' -d '{"op":"sync_user","data":{"user_id":"1001"},"ttlSeconds":300}'
  npm run sim -- --devices 20 --punches 50 --dup-rate 0.2 --commands 3

Ctrl-C stops everything (all data is in memory).`;
}

main().catch((error) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
