import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startDynamoDbLocal } from "../../local/services/dynamodb-local.ts";
import { freePort } from "../../local/services/free-port.ts";
import { portHolder } from "../../local/services/port-holder.ts";
import { eventually } from "../support/local-stack.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const saved = { PATH: process.env.PATH, JAVA_TOOL_OPTIONS: process.env.JAVA_TOOL_OPTIONS };

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** Processes whose command line runs DynamoDB Local on this port. */
function javaOnPort(port: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return args[0] === "java" && args.includes(String(port)) && args.includes("-port");
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("DynamoDB Local says why it is not there", () => {
  it("when java is not installed", async () => {
    process.env.PATH = "/nonexistent";
    await expect(startDynamoDbLocal()).rejects.toThrow(/^java was not found on PATH: .*Java 17 or later/);
  });

  it("when java crashes, with its exit code and the end of its output", async () => {
    // A real JVM that refuses to start: the heap limit is far below what it needs.
    process.env.JAVA_TOOL_OPTIONS = "-Xmx1k";
    const failure = startDynamoDbLocal();
    await expect(failure).rejects.toThrow(/exited with code 1 before answering; its last output:/);
    await expect(failure).rejects.toThrow(/Error occurred during initialization of VM/);
  });

  it("when java runs but does not answer in time, and stops it", async () => {
    const port = await freePort();
    const lines: string[] = [];
    const failure = startDynamoDbLocal(port, {
      timeoutMs: 300,
      progressEveryMs: 100,
      onProgress: (l) => lines.push(l),
    });
    await expect(failure).rejects.toThrow(
      /is running but did not answer on http:\/\/127\.0\.0\.1:\d+ within 0\.3 s/,
    );
    await expect(failure).rejects.toThrow(/Java is installed; .* DYNAMODB_LOCAL_TIMEOUT_S=/);
    expect(lines.every((line) => line.startsWith("still waiting for DynamoDB Local"))).toBe(true);
    await eventually(async () => (javaOnPort(port).length === 0 ? true : undefined), 15_000);
  });

  it("when its port is taken, naming who holds it", async () => {
    const port = await freePort();
    const { createServer } = await import("node:net");
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    try {
      await expect(startDynamoDbLocal(port)).rejects.toThrow(
        `DynamoDB Local cannot start: port ${port} is already in use by pid ${process.pid}`,
      );
    } finally {
      server.close();
    }
  });
});

describe("DynamoDB Local never outlives the process that started it", () => {
  it("ends when that process is killed with SIGKILL", async () => {
    const port = await freePort();
    const script = `
      const { startDynamoDbLocal } = await import("./local/services/dynamodb-local.ts");
      const db = await startDynamoDbLocal(${port});
      console.log("ready " + db.endpoint);`;
    const owner = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    owner.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    try {
      await eventually(async () => (output.includes("ready") ? true : undefined), 150_000);
      expect(javaOnPort(port)).toHaveLength(1);
      owner.kill("SIGKILL");
      await eventually(async () => (javaOnPort(port).length === 0 ? true : undefined), 20_000);
      await eventually(async () => ((await portHolder(port, "127.0.0.1")) ? undefined : true), 10_000);
    } finally {
      owner.kill("SIGKILL");
      for (const pid of javaOnPort(port)) process.kill(pid, "SIGKILL");
    }
  }, 180_000);
});
