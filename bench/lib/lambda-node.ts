import { execFile, spawnSync } from "node:child_process";
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
 * the machine's Node 20), so what the benchmarks time is what Lambda runs; returns the exit status, or
 * undefined when this process should go on (already there, `BENCH_ANY_NODE=1`, or no such Node).
 */
export async function rerunOnLambdaNode(): Promise<number | undefined> {
  if (onLambdaNode() || process.env.BENCH_ANY_NODE) return undefined;
  const node = await lambdaNodePath();
  if (!node) {
    console.error(
      `${LAMBDA_NODE_LABEL} is not available (npx failed): measuring on Node ${process.version}.`,
    );
    return undefined;
  }
  console.error(`running the benchmarks on ${LAMBDA_NODE_LABEL} (Lambda's runtime): ${node}`);
  const again = spawnSync(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  return again.status ?? 1;
}
