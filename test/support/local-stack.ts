import { inject } from "vitest";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import type { EmqxStandInOptions } from "../../local/emqx/index.ts";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../local/stack.ts";
import { uniqueName } from "./resources.ts";

/**
 * EMQX's retry timing compressed, plus up to 20 ms of latency per attempt. With the shipped action's 16 buffer
 * workers and inflight window of 100 that makes requests overtake each other often, as over a real network.
 * (LocalStackOptions names only the first two fields; local/stack.ts hands the object to the stand-in as is.)
 */
const EMQX_TIMING: EmqxStandInOptions["timing"] = {
  requestTtlMs: 20_000,
  resumeIntervalMs: 200,
  sendJitterMs: 20,
};

/** The whole local stack on the shared DynamoDB Local and SQS stand-in, EMQX reordering as it does. */
export function startTestStack(overrides: LocalStackOptions = {}) {
  return startLocalStack({
    dynamodbEndpoint: inject("dynamodbEndpoint"),
    sqsEndpoint: inject("sqsEndpoint"),
    tableName: uniqueName("bridge"),
    eventsQueue: uniqueName("events"),
    ingestTokens: ["e2e-token-0123456789abcdef"],
    emqxTiming: EMQX_TIMING,
    logLevel: "SILENT",
    ...overrides,
  });
}

/** MQTT login options of device `sn` on `stack` (the broker authenticates): username = sn, its device token. */
export function deviceLogin(stack: LocalStack, sn: string): { username: string; password: string } {
  return { username: sn, password: deriveDeviceToken(stack.deviceTokenSecrets[0] as string, sn) };
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
