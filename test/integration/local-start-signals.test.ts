import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { freePort } from "../../local/services/free-port.ts";
import { portHolder } from "../../local/services/port-holder.ts";
import { eventually } from "../support/local-stack.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PORT_VARS = [
  "DYNAMODB_PORT",
  "SQS_PORT",
  "MQTT_PORT",
  "MQTT_WS_PORT",
  "INGEST_PORT",
  "API_PORT",
  "EMQX_API_PORT",
] as const;
// DynamoDB Local is a JVM; on a busy 2-core machine it can take a minute to answer.
const START_TIMEOUT_MS = 150_000;

interface RunningStart {
  npm: ChildProcess;
  env: NodeJS.ProcessEnv;
  ports: number[];
  output: () => string;
  /** Every process below npm once the stack is up: node, the supervising sh, java. */
  tree: number[];
}

const started: RunningStart[] = [];
const dirs: string[] = [];

afterEach(() => {
  // Whatever a failed test left behind: npm runs in its own process group, DynamoDB Local in another.
  for (const run of started.splice(0)) for (const pid of [run.npm.pid ?? 0, ...run.tree]) kill(-pid);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `npm start` as a user runs it, on free ports, with a session file of its own and no secrets set. */
async function npmStart(extraEnv: Record<string, string> = {}): Promise<RunningStart> {
  const ports = await distinctFreePorts(PORT_VARS.length);
  const dir = mkdtempSync(join(tmpdir(), "npm-start-"));
  dirs.push(dir);
  const env: NodeJS.ProcessEnv = { ...process.env, BRIDGE_SESSION_FILE: join(dir, "session.json") };
  for (const name of ["DEVICE_TOKEN_SECRETS", "INGEST_TOKENS", "API_KEYS", "EMQX_API_SECRET"])
    delete env[name];
  PORT_VARS.forEach((name, i) => {
    env[name] = String(ports[i]);
  });
  Object.assign(env, { LOG_LEVEL: "WARN", DYNAMODB_LOCAL_TIMEOUT_S: "140" }, extraEnv);
  const npm = spawn("npm", ["start"], { cwd: REPO, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  npm.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  npm.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const run: RunningStart = { npm, env, ports, output: () => output, tree: [] };
  started.push(run);
  return run;
}

async function untilRunning(run: RunningStart): Promise<void> {
  await eventually(async () => {
    if (run.npm.exitCode !== null) throw new Error(`npm start exited early:\n${run.output()}`);
    return run.output().includes("is running locally") ? true : undefined;
  }, START_TIMEOUT_MS);
  run.tree = descendants(run.npm.pid as number);
}

/**
 * `npm start` until it runs: once more on other ports when one was taken in between (the ports are free
 * when chosen, but the file running beside this one may bind one before `npm start` does).
 */
async function runningStart(): Promise<RunningStart> {
  const run = await npmStart();
  try {
    await untilRunning(run);
    return run;
  } catch (error) {
    if (!run.output().includes("is already in use")) throw error;
    const again = await npmStart();
    await untilRunning(again);
    return again;
  }
}

async function expectEverythingGone(run: RunningStart): Promise<void> {
  await eventually(
    async () => ([run.npm.pid as number, ...run.tree].some(isAlive) ? undefined : true),
    30_000,
  );
  for (const port of run.ports) {
    await eventually(async () => ((await portHolder(port, "127.0.0.1")) ? undefined : true), 10_000);
  }
}

describe("npm start stops everything it started", () => {
  it(
    "gives a fresh terminal a working device token, and SIGINT to npm ends node and DynamoDB Local",
    async () => {
      const run = await runningStart();
      expect(run.tree.some((pid) => commandOf(pid).startsWith("java "))).toBe(true);
      // A fresh terminal: no DEVICE_TOKEN_SECRETS; the token comes from the running stack's session file.
      const { stdout } = await promisify(execFile)(
        "npm",
        ["run", "-s", "device-token", "--", "--sn", "SN0002"],
        { cwd: REPO, env: run.env },
      );
      const response = await fetch(`http://127.0.0.1:${run.env.INGEST_PORT}/v1/devices/SN0002/evt`, {
        method: "POST",
        headers: { authorization: `Bearer ${stdout.trim()}`, "content-type": "application/json" },
        body: JSON.stringify({ user_id: "1001", att_time: "2026-11-22 08:00:00", att_state: 0 }),
      });
      expect(response.status).toBe(200);
      run.npm.kill("SIGINT");
      await expectEverythingGone(run);
    },
    START_TIMEOUT_MS + 60_000,
  );

  it(
    "prints no secret: a fresh terminal reads each with local-secret, and each works where it belongs",
    async () => {
      const run = await runningStart();
      const secret = async (name: string) => {
        const { stdout } = await promisify(execFile)("npm", ["run", "-s", "local-secret", "--", name], {
          cwd: REPO,
          env: run.env,
        });
        return stdout.trim();
      };
      const [ingestToken, apiKey, emqxApi] = await Promise.all(
        ["ingest-token", "api-key", "emqx-api"].map(secret),
      );
      const session = JSON.parse(readFileSync(run.env.BRIDGE_SESSION_FILE as string, "utf8"));
      const deviceTokens = ["SN0001", "SN0002"].map((sn) => deriveDeviceToken(session.deviceTokenSecret, sn));
      for (const value of [ingestToken, apiKey, (emqxApi as string).split(":")[1], ...deviceTokens])
        expect(run.output()).not.toContain(value);
      const devices = await fetch(`http://127.0.0.1:${run.env.API_PORT}/v1/devices`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(devices.status).toBe(200);
      const ruleEvent = await fetch(`http://127.0.0.1:${run.env.INGEST_PORT}/emqx/rule-events`, {
        method: "POST",
        headers: { authorization: `Bearer ${ingestToken}`, "content-type": "application/json" },
        body: JSON.stringify({
          id: "0006054DC3E940F8F445000038A60003",
          clientid: "SN0003",
          username: "undefined",
          event: "message.publish",
          topic: "api/mqtt/v1/SN0003/evt",
          payload: JSON.stringify({ user_id: "1001", att_time: "2026-11-22 08:00:00", att_state: 0 }),
          qos: 1,
          publish_received_at: Date.now(),
          metadata: { rule_id: "bridge_attendance" },
        }),
      });
      expect(ruleEvent.status).toBe(200);
      const client = await fetch(`http://127.0.0.1:${run.env.EMQX_API_PORT}/api/v5/clients/SN0003`, {
        headers: { authorization: `Basic ${Buffer.from(emqxApi as string).toString("base64")}` },
      });
      expect(client.status).toBe(404); // authenticated; the device never connected to the broker
      run.npm.kill("SIGINT");
      await expectEverythingGone(run);
    },
    START_TIMEOUT_MS + 60_000,
  );

  it.each(["SIGTERM", "SIGHUP", "SIGKILL"] as const)(
    "%s to the npm process ends node and DynamoDB Local and frees every port",
    async (signal) => {
      const run = await runningStart();
      run.npm.kill(signal);
      await expectEverythingGone(run);
    },
    START_TIMEOUT_MS + 60_000,
  );
});

describe("npm start on a taken port", () => {
  let blocker: Server | undefined;
  afterEach(() => blocker?.close());

  it("refuses to start anything and names the process that holds the port", async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker?.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const run = await npmStart({ INGEST_PORT: String(taken) });
    const code = await new Promise((resolve) => run.npm.once("exit", resolve));
    expect(code).toBe(1);
    expect(run.output()).toContain(`port ${taken} is already in use by pid ${process.pid}`);
    expect(run.output()).not.toContain("Starting the local bridge");
  }, 60_000);
});

function distinctFreePorts(count: number): Promise<number[]> {
  return (async () => {
    const ports = new Set<number>();
    while (ports.size < count) ports.add(await freePort());
    return [...ports];
  })();
}

/** All processes below `root`, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function parentOf(pid: number): number | undefined {
  try {
    // "pid (comm) state ppid ...": comm may contain spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** Running, and not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

function kill(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  // 0 and -1 would mean "my own group" and "everything I may signal".
  if (Math.abs(pid) <= 1) return;
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}
