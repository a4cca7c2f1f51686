import { inject } from "vitest";
import { type LocalStackOptions, startLocalStack } from "../../local/stack.ts";
import { uniqueName } from "./resources.ts";

/** The whole local stack on the shared DynamoDB Local and SQS stand-in, with EMQX's retry timing compressed. */
export function startTestStack(overrides: LocalStackOptions = {}) {
  return startLocalStack({
    dynamodbEndpoint: inject("dynamodbEndpoint"),
    sqsEndpoint: inject("sqsEndpoint"),
    tableName: uniqueName("bridge"),
    eventsQueue: uniqueName("events"),
    ingestTokens: ["e2e-token-0123456789abcdef"],
    emqxTiming: { requestTtlMs: 20_000, resumeIntervalMs: 200 },
    logLevel: "SILENT",
    ...overrides,
  });
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${last}` : ""}`);
}
