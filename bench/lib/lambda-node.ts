import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { RUNTIME_NODE_MAJOR } from "../../infra/lib/bridge-function.ts";

const run = promisify(execFile);

/** "Node 24": how the tables name Lambda's Node. */
export const LAMBDA_NODE_LABEL = `Node ${RUNTIME_NODE_MAJOR}`;

/** Whether this process runs on Lambda's Node major version. */
export const onLambdaNode = () => process.versions.node.split(".")[0] === RUNTIME_NODE_MAJOR;

/**
 * The path of a `node` of Lambda's major version: this one, or npm's `node@24` package (which ships the
 * binary) through npx; undefined when npx cannot get it (offline with an empty cache).
 */
export async function lambdaNodePath(): Promise<string | undefined> {
  if (onLambdaNode()) return process.execPath;
  try {
    const args = ["-y", `node@${RUNTIME_NODE_MAJOR}`, "-p", "process.execPath"];
    const { stdout } = await run("npx", args, { timeout: 180_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * Runs this script again on Lambda's Node when this one is another (the local stack and the tests run on
 * the machine's Node 20), so what the benchmarks time is what Lambda runs; resolves to the exit status,
 * or undefined when this process should go on (already there, `BENCH_ANY_NODE=1`, or no such Node).
 */
export async function rerunOnLambdaNode(): Promise<number | undefined> {
  if (onLambdaNode() || process.env.BENCH_ANY_NODE) return undefined;
  const node = await lambdaNodePath();
  if (!node) {
    console.error(`${LAMBDA_NODE_LABEL} is not available (npx failed): measuring on ${process.version}.`);
    return undefined;
  }
  console.error(`running the benchmarks on ${LAMBDA_NODE_LABEL} (Lambda's runtime): ${node}`);
  return runToEnd(node, [...process.execArgv, ...process.argv.slice(1)]);
}

/**
 * Runs the copy with this process's signals passed on, so stopping the bench (Ctrl-C, a CI timeout)
 * stops the copy and its stand-ins too; a copy ended by a signal ends this process by the same one.
 */
function runToEnd(node: string, args: string[]): Promise<number> {
  // The copy never starts another copy, whatever Node npx handed out.
  const child = spawn(node, args, { stdio: "inherit", env: { ...process.env, BENCH_ANY_NODE: "1" } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      if (signal) {
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
      }
      resolve(code ?? 1);
    });
  });
}
