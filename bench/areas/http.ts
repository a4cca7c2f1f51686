import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { progressBar } from "../../local/simulator/progress.ts";
import { type Fixture, INGEST_TOKEN, publishEvent, punch } from "../lib/fixture.ts";
import { type Area, times } from "../lib/report.ts";
import { median } from "../lib/stats.ts";

const GOAL = 0.8;
/** Linux's USER_HZ: /proc reports CPU time in these. */
const CLOCK_TICKS_PER_SECOND = 100;
/** A server that prints no port by then is hung (each takes ~1-3 s on a busy 2-core machine). */
const START_TIMEOUT_MS = 60_000;
const SERVER = fileURLToPath(new URL("../http/server.ts", import.meta.url));
/** bench/http/server.ts's kinds, in the order a round starts with (each round rotates it by one). */
const KINDS = ["app", "bare-domain", "hono-min", "bare"] as const;
type Kind = (typeof KINDS)[number];

interface Server {
  port: number;
  process: ChildProcess;
}

interface Options {
  rounds: number;
  seconds: number;
  connections: number;
  /** Seconds of load each server gets before the measured rounds, so every JIT (V8's, the JVM's) is warm. */
  warmup: number;
}

interface Measured {
  rates: Record<Kind, number[]>;
  cpu: Record<Kind, { ms: number; punches: number }>;
  errors: Record<Kind, number>;
}

/**
 * HTTP throughput of the ingest app on @hono/node-server against bare node:http, each server in its own
 * process against the same DynamoDB Local and SQS stand-in, loaded one at a time by keep-alive clients,
 * in rounds whose order rotates. The goal compares like with like: the app against node:http running the
 * same domain code (bench/http/server.ts); two more servers split the rest between Hono and the domain.
 */
export async function httpThroughput(
  fx: Fixture,
  endpoints: { dynamodb: string; sqs: string },
  options: Options,
): Promise<Area> {
  const env = serverEnv(fx, endpoints);
  const servers = {} as Record<Kind, Server>;
  try {
    for (const kind of KINDS) servers[kind] = await start(kind, env);
    return report(await measure(servers, options), options);
  } finally {
    for (const server of Object.values(servers)) server.process.kill();
  }
}

function serverEnv(fx: Fixture, endpoints: { dynamodb: string; sqs: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TABLE_NAME: fx.resources.tableName,
    EVENTS_QUEUE_URL: fx.resources.eventsQueueUrl,
    COMMANDS_QUEUE_URL: fx.resources.commandsQueueUrl,
    DYNAMODB_ENDPOINT: endpoints.dynamodb,
    SQS_ENDPOINT: endpoints.sqs,
    INGEST_TOKEN,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  };
}

async function measure(servers: Record<Kind, Server>, options: Options): Promise<Measured> {
  const byKind = <T>(make: () => T) => Object.fromEntries(KINDS.map((k) => [k, make()])) as Record<Kind, T>;
  const measured: Measured = {
    rates: byKind(() => []),
    cpu: byKind(() => ({ ms: 0, punches: 0 })),
    errors: byKind(() => 0),
  };
  const progress = progressBar("http        ", KINDS.length * (options.rounds + 1));
  let serial = 0;
  let step = 0;
  for (const kind of KINDS) {
    await load(servers[kind].port, "W", options.warmup, options.connections, () => serial++);
    progress(++step);
  }
  for (let round = 0; round < options.rounds; round++) {
    for (const kind of rotated(round)) {
      const cpuBefore = processCpuMs(servers[kind].process);
      const result = await load(
        servers[kind].port,
        kind,
        options.seconds,
        options.connections,
        () => serial++,
      );
      measured.rates[kind].push(result.ok / options.seconds);
      measured.cpu[kind].ms += processCpuMs(servers[kind].process) - cpuBefore;
      measured.cpu[kind].punches += result.ok;
      measured.errors[kind] += result.failed;
      progress(++step);
    }
  }
  return measured;
}

/** A B C D, then D C B A, ...: each pair of servers runs side by side, and first as often as second. */
const rotated = (round: number): Kind[] => (round % 2 === 0 ? [...KINDS] : [...KINDS].reverse());

function report(measured: Measured, options: Options): Area {
  const { rates, cpu, errors } = measured;
  // Per round, then the median: a round's servers ran minutes apart at most, under the same stand-ins.
  const perRound = (a: Kind, b: Kind) => rates[a].map((rate, round) => rate / (rates[b][round] as number));
  const ratio = (a: Kind, b: Kind) => median(perRound(a, b));
  const vs = (a: Kind, b: Kind) => {
    const rounds = perRound(a, b);
    return `${times(ratio(a, b))} (rounds ${Math.min(...rounds).toFixed(2)}-${times(Math.max(...rounds))})`;
  };
  const cpuPerPunch = (kind: Kind) => cpu[kind].ms / Math.max(1, cpu[kind].punches);
  const goal = ratio("app", "bare-domain");
  const failed = KINDS.filter((kind) => errors[kind] > 0);
  return {
    id: "http",
    title: "HTTP throughput: ingest app on @hono/node-server vs bare node:http doing the same work",
    rows: [
      {
        figure: "new punches per second, the ingest app vs node:http running the same domain code",
        value: vs("app", "bare-domain"),
        goal: `≥ ${times(GOAL)}`,
        met: goal >= GOAL,
      },
      {
        figure: "a one-route Hono app vs node:http, both storing the punch by hand (Hono's own cost)",
        value: vs("hono-min", "bare"),
        goal: "",
      },
      {
        figure:
          "node:http running the domain vs node:http storing by hand (the domain's validation and checks)",
        value: vs("bare-domain", "bare"),
        goal: "",
      },
      {
        figure: "the ingest app vs node:http storing by hand",
        value: vs("app", "bare"),
        goal: "",
      },
      {
        figure: "server CPU per punch (user + system): app / bare-domain / hono-min / bare",
        value: KINDS.map((kind) => `${cpuPerPunch(kind).toFixed(2)} ms`).join(" / "),
        goal: "",
      },
    ],
    notes: [
      `${options.warmup} s of warm-up per server, then ${options.rounds} rounds of ${options.seconds} s per server (order A B C D, then D C B A), ${options.connections} keep-alive connections; ratios are medians of the rounds' ratios (their range in brackets). Every server stores and fans out each punch on the same stand-ins; "by hand" is one conditional PutItem and one SendMessage with no validation (bench/http/server.ts).`,
    ],
    failures: failed.length
      ? [`non-200 answers under load: ${failed.map((kind) => `${kind} ${errors[kind]}`).join(", ")}`]
      : [],
    data: { rates, ratio: goal, cpuMsPerPunch: Object.fromEntries(KINDS.map((k) => [k, cpuPerPunch(k)])) },
  };
}

/**
 * CPU time the server process used so far (user + system, from /proc): what each punch costs the server
 * itself, whatever the stand-ins it shares the machine with do to its throughput.
 */
function processCpuMs(child: ChildProcess): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
  } catch {
    return Number.NaN; // not Linux: the row reads NaN, the throughput rows stand
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

function start(kind: Kind, env: NodeJS.ProcessEnv): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", SERVER, kind], {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the ${kind} server did not print its port within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PORT (\d+)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      resolve({ port: Number(match[1]), process: child });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${kind} server exited (${code}) before listening`));
    });
  });
}

/** `connections` loops posting distinct punches for `seconds`; counts 200s and anything else. */
async function load(port: number, tag: string, seconds: number, connections: number, next: () => number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const deadline = Date.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  const worker = async (w: number) => {
    while (Date.now() < deadline) {
      const status = await post(agent, port, publishEvent(`HT${tag}${w}`, "evt", punch(next())));
      if (status === 200) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, w) => worker(w)));
  agent.destroy();
  return { ok, failed };
}

function post(agent: Agent, port: number, body: unknown): Promise<number> {
  const text = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/emqx/rule-events",
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(text),
          authorization: `Bearer ${INGEST_TOKEN}`,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(text);
  });
}
