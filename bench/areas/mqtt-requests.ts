import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { DynamoDbApiKeyStore } from "../../functions/adapters/dynamodb/api-key-store.ts";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { newApiKey } from "../../functions/core/api-keys.ts";
import { progressBar } from "../../local/simulator/progress.ts";
import type { LocalStack } from "../../local/stack.ts";
import { type Area, ms, type Row, times } from "../lib/report.ts";
import { interleaved, percentile } from "../lib/stats.ts";

/** CI-short: this many pairs per call (after the warm-up), each pair one MQTT request and one REST call. */
const PAIRS = 60;
const WARMUP = 5;
const ANSWER_TIMEOUT_MS = 30_000;
/** The goal of issue 12: an MQTT round trip within 1.5× the same REST call. */
const GOAL_RATIO = 1.5;
const SN = "MQREQ-BENCH-1";

interface Call {
  label: string;
  method: "GET" | "POST";
  path: string;
  body?: (i: number) => unknown;
}

const CALLS: Call[] = [
  { label: "GET a device's commands", method: "GET", path: `/v1/devices/${SN}/commands` },
  {
    label: "POST a command",
    method: "POST",
    path: `/v1/devices/${SN}/commands`,
    body: (i) => ({ op: "bench", data: { i } }),
  },
];

/**
 * The API over MQTT against REST, call by call, interleaved (MQTT, REST, then REST, MQTT, ...): an app
 * publishes `{requestId, method, path, body}` on `app/v1/{key}/requests` and waits for its answer on
 * `responses/{requestId}` (broker → EMQX stand-in's requests rule → API → EMQX publish API → broker), against
 * `fetch` of the same route with the same key. Each answer is checked to be the status REST gives.
 */
export async function mqttRequests(stack: LocalStack): Promise<Area> {
  const app = await connectApp(stack);
  const rows: Row[] = [];
  const failures: string[] = [];
  const data: Record<string, unknown> = {};
  try {
    for (const call of CALLS) {
      const progress = progressBar(`${call.label.padEnd(24)}`, PAIRS);
      let wrong = 0;
      const paired = await interleaved(
        async (i) => ((await app.ask(call, i)) === expected(call) ? undefined : wrong++),
        async (i) => ((await rest(stack, app.key, call, i)) === expected(call) ? undefined : wrong++),
        PAIRS,
        { warmup: WARMUP, onProgress: progress },
      );
      rows.push(...figures(call, paired.a, paired.b));
      if (wrong > 0)
        failures.push(`${call.label}: ${wrong} answers with another status than ${expected(call)}`);
      data[call.method] = { mqtt: paired.a, rest: paired.b };
    }
  } finally {
    app.client.end(true);
  }
  return {
    id: "mqtt-requests",
    title: "API over MQTT vs REST (request on app/v1/{key}/requests → answer on responses/{requestId})",
    rows,
    notes: [
      `${PAIRS} pairs per call after ${WARMUP} warm-up pairs, one at a time: latency, not throughput.`,
      "Over MQTT a request also costs a conditional put (claim its requestId), a put of the answer and a publish through EMQX's API, and two more hops (broker → rule → API, API → broker → app).",
    ],
    failures,
    data,
  };
}

const expected = (call: Call) => (call.method === "POST" ? 202 : 200);

function figures(call: Call, viaMqtt: number[], viaRest: number[]): Row[] {
  const [p50, p99] = [percentile(viaMqtt, 50), percentile(viaMqtt, 99)];
  const [rest50, rest99] = [percentile(viaRest, 50), percentile(viaRest, 99)];
  const ratio = p50 / rest50;
  return [
    { figure: `${call.label}: MQTT p50 / p99`, value: `${ms(p50)} / ${ms(p99)}` },
    { figure: `${call.label}: REST p50 / p99`, value: `${ms(rest50)} / ${ms(rest99)}` },
    {
      figure: `${call.label}: MQTT / REST, p50`,
      value: `${times(ratio)} (p99 ${times(p99 / rest99)})`,
      goal: `≤ ${GOAL_RATIO}×`,
      met: ratio <= GOAL_RATIO,
    },
  ];
}

async function rest(stack: LocalStack, key: string, call: Call, i: number): Promise<number> {
  const response = await fetch(`${stack.endpoints.api}${call.path}`, {
    method: call.method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    ...(call.body ? { body: JSON.stringify(call.body(i)) } : {}),
  });
  await response.arrayBuffer();
  return response.status;
}

interface App {
  key: string;
  client: MqttClient;
  ask(call: Call, i: number): Promise<number>;
}

/** An app with a fresh key (the table may be an earlier run's), subscribed to its answers. */
async function connectApp(stack: LocalStack): Promise<App> {
  const name = `bench-mqreq-${randomBytes(4).toString("hex")}`;
  const { key, record } = newApiKey(name, ["read", "commands"]);
  const dynamodb = createDynamoDbClient({
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.dynamodb,
  });
  try {
    await new DynamoDbApiKeyStore(dynamodb, stack.tableName).put(record);
  } finally {
    dynamodb.destroy();
  }
  const client = await mqtt.connectAsync(stack.endpoints.mqtt, {
    clientId: `${name}/bench`,
    username: name,
    password: key,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const waiting = new Map<string, (status: number) => void>();
  client.on("message", (topic, payload) => {
    const answer = JSON.parse(payload.toString()) as { status: number };
    waiting.get(topic)?.(answer.status);
    waiting.delete(topic);
  });
  await client.subscribeAsync(`app/v1/${name}/responses/#`, { qos: 1 });
  let sequence = 0;
  const ask = async (call: Call, i: number) => {
    const requestId = `b${sequence++}-${randomBytes(3).toString("hex")}`;
    const answered = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${requestId}`)), ANSWER_TIMEOUT_MS);
      waiting.set(`app/v1/${name}/responses/${requestId}`, (status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
    const request = {
      requestId,
      method: call.method,
      path: call.path,
      ...(call.body ? { body: call.body(i) } : {}),
    };
    await client.publishAsync(`app/v1/${name}/requests`, JSON.stringify(request), { qos: 1 });
    return answered;
  };
  return { key, client, ask };
}
