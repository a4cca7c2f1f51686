import { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { lambdaEntry } from "../../functions/adapters/lambda-boot.ts";
import type { BridgeMetrics } from "../../functions/core/metrics.ts";

const context = {
  functionName: "bridge-api",
  functionVersion: "$LATEST",
  awsRequestId: "req-0001",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:bridge-api",
  memoryLimitInMB: "512",
  logGroupName: "/aws/lambda/bridge-api",
  logStreamName: "stream",
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

/** A metrics port that only counts its flushes. */
function flushCounter(): BridgeMetrics & { flushes: number } {
  const metrics = { flushes: 0, count: () => undefined, flush: () => void metrics.flushes++ };
  return metrics;
}

/** The JSON log lines written to stdout while `run` runs. */
async function logLines(run: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  await run().catch(() => undefined);
  vi.restoreAllMocks();
  return chunks
    .flatMap((chunk) => chunk.split("\n"))
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

describe("lambdaEntry", () => {
  afterEach(() => vi.restoreAllMocks());

  it("puts the invocation's request id and function on every log line of the handler", async () => {
    const logger = new Logger({ serviceName: "bridge-api" });
    const handler = lambdaEntry(
      async (event: { n: number }) => {
        logger.info("handled", { n: event.n });
        return event.n;
      },
      { logger },
    );
    const [line] = await logLines(() => handler({ n: 1 }, context));
    expect(line).toMatchObject({
      message: "handled",
      function_request_id: "req-0001",
      function_name: "bridge-api",
      n: 1,
    });
  });

  it("writes the metrics once per invocation, also when the handler throws", async () => {
    const logger = new Logger({ serviceName: "bridge-publisher" });
    const metrics = flushCounter();
    const ok = lambdaEntry(async () => "done", { logger, metrics });
    const failing = lambdaEntry(
      async () => {
        throw new Error("EMQX is down");
      },
      { logger, metrics },
    );
    expect(await ok({}, context)).toBe("done");
    await expect(failing({}, context)).rejects.toThrow("EMQX is down");
    expect(metrics.flushes).toBe(2);
  });
});
