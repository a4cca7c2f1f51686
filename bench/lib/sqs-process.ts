import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = `
import { startSqsLocal } from ${JSON.stringify(fileURLToPath(new URL("../../local/services/sqs-local.ts", import.meta.url)))};
const sqs = await startSqsLocal();
console.log("ENDPOINT " + sqs.endpoint);
`;

/**
 * The SQS stand-in in a process of its own, so the CPU the bench measures in this process is the
 * handler's and the SDK's alone (the local stack runs fauxqs in-process).
 */
export function startSqsProcess(): Promise<{ endpoint: string; stop(): void }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", SCRIPT],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ENDPOINT (\S+)/.exec(out);
      if (match) resolve({ endpoint: match[1] as string, stop: () => child.kill() });
    });
    child.on("exit", (code) => reject(new Error(`the SQS stand-in exited (${code}) before listening`)));
  });
}
