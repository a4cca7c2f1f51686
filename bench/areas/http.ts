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
const SERVER = fileURLToPath(new URL("../http/server.ts", import.meta.url));

interface Server {
  port: number;
  process: ChildProcess;
}

/**
 * HTTP throughput of the ingest app on @hono/node-server against bare node:http doing the same work
 * (bearer check, body, JSON, one conditional PutItem + one SendMessage), each server in its own process
 * against the same DynamoDB Local and SQS stand-in, loaded in turns (A B B A ...) by keep-alive clients.
 */
export async function httpThroughput(
  fx: Fixture,
  endpoints: { dynamodb: string; sqs: string },
  options: { rounds: number; seconds: number; connections: number },
): Promise<Area> {
  const env = {
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
  const servers = { hono: await start("hono", env), bare: await start("bare", env) };
  try {
    const rates: Record<"hono" | "bare", number[]> = { hono: [], bare: [] };
    const cpu: Record<"hono" | "bare", { ms: number; punches: number }> = {
      hono: { ms: 0, punches: 0 },
      bare: { ms: 0, punches: 0 },
    };
    const errors = { hono: 0, bare: 0 };
    const progress = progressBar("http        ", options.rounds * 2);
    let serial = 0;
    await load(servers.hono.port, "W", 1, options.connections, () => serial++); // warm-up, both
    await load(servers.bare.port, "W", 1, options.connections, () => serial++);
    for (let round = 0; round < options.rounds; round++) {
      const order: Array<"hono" | "bare"> = round % 2 === 0 ? ["hono", "bare"] : ["bare", "hono"];
      for (const mode of order) {
        const cpuBefore = processCpuMs(servers[mode].process);
        const result = await load(
          servers[mode].port,
          mode,
          options.seconds,
          options.connections,
          () => serial++,
        );
        rates[mode].push(result.ok / options.seconds);
        cpu[mode].ms += processCpuMs(servers[mode].process) - cpuBefore;
        cpu[mode].punches += result.ok;
        errors[mode] += result.failed;
        progress(round * 2 + order.indexOf(mode) + 1);
      }
    }
    const ratio = median(rates.hono) / median(rates.bare);
    const perPunch = (mode: "hono" | "bare") => cpu[mode].ms / Math.max(1, cpu[mode].punches);
    return {
      id: "http",
      title: "HTTP throughput: ingest app on @hono/node-server vs bare node:http doing the same work",
      rows: [
        {
          figure: "new punches per second, Hono vs bare",
          value: `${times(ratio)} (${median(rates.hono).toFixed(0)}/s vs ${median(rates.bare).toFixed(0)}/s)`,
          goal: `≥ ${times(GOAL)}`,
          met: ratio >= GOAL,
        },
        {
          figure: "server CPU per punch (user + system), Hono vs bare",
          value: `${times(perPunch("hono") / perPunch("bare"))} (${perPunch("hono").toFixed(2)} ms vs ${perPunch("bare").toFixed(2)} ms)`,
          goal: "",
        },
      ],
      notes: [
        `${options.rounds} turns of ${options.seconds} s each, ${options.connections} keep-alive connections, medians. Both servers store and fan out every punch on the same stand-ins, so the stand-ins bound both.`,
      ],
      failures:
        errors.hono || errors.bare
          ? [`non-200 answers under load: hono ${errors.hono}, bare ${errors.bare}`]
          : [],
      data: { rates, ratio, cpuMsPerPunch: { hono: perPunch("hono"), bare: perPunch("bare") } },
    };
  } finally {
    for (const server of Object.values(servers)) server.process.kill();
  }
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

function start(mode: string, env: NodeJS.ProcessEnv): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", SERVER, mode], {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PORT (\d+)/.exec(out);
      if (match) resolve({ port: Number(match[1]), process: child });
    });
    child.on("exit", (code) => reject(new Error(`the ${mode} server exited (${code}) before listening`)));
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
