/**
 * What the deployed functions add around the apps: cold-start secret loading (Secrets Manager → env) and
 * the EMF metrics the alarms and dashboard read.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMetrics, EmfMetrics } from "../../functions/adapters/metrics.ts";
import { loadSecretsIntoEnv } from "../../functions/adapters/secrets.ts";
import { METRIC, METRICS_NAMESPACE, METRICS_SERVICE, noopMetrics } from "../../functions/core/metrics.ts";

const ARN = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;

describe("loadSecretsIntoEnv", () => {
  it("puts each NAME_SECRET_ARN secret into NAME, reading each once, in parallel", async () => {
    const env: Record<string, string | undefined> = {
      INGEST_TOKENS_SECRET_ARN: ARN("tokens"),
      DEVICE_TOKEN_SECRETS_SECRET_ARN: ARN("device"),
      TABLE_NAME: "bridge",
    };
    let inFlight = 0;
    let maxInFlight = 0;
    const fetch = vi.fn(async (id: string) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // One turn of the event loop: fetches started together are all in flight before any returns.
      await Promise.resolve();
      inFlight--;
      return id === ARN("tokens") ? "tokenAAAAAAAAAAAAAAAA,tokenBBBBBBBBBBBBBBBB" : "d".repeat(48);
    });
    const set = await loadSecretsIntoEnv(env, fetch);
    expect(set.sort()).toEqual(["DEVICE_TOKEN_SECRETS", "INGEST_TOKENS"]);
    expect(env.INGEST_TOKENS).toBe("tokenAAAAAAAAAAAAAAAA,tokenBBBBBBBBBBBBBBBB");
    expect(env.DEVICE_TOKEN_SECRETS).toBe("d".repeat(48));
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(maxInFlight).toBe(2);
  });

  it("spreads a JSON secret into the variables it names (the EMQX key and secret together)", async () => {
    const env: Record<string, string | undefined> = { EMQX_API_CREDENTIALS_SECRET_ARN: ARN("emqx") };
    await loadSecretsIntoEnv(env, async () =>
      JSON.stringify({ EMQX_API_KEY: "emqx-serverless-bridge", EMQX_API_SECRET: "s3cret" }),
    );
    expect(env).toMatchObject({ EMQX_API_KEY: "emqx-serverless-bridge", EMQX_API_SECRET: "s3cret" });
    expect(env.EMQX_API_CREDENTIALS).toBeUndefined();
  });

  it("refuses a JSON secret with a field that is not a plain variable", async () => {
    for (const bad of [{ emqx_api_key: "x" }, { NESTED_SECRET_ARN: "x" }, { EMQX_API_KEY: 1 }]) {
      await expect(
        loadSecretsIntoEnv({ EMQX_API_CREDENTIALS_SECRET_ARN: ARN("emqx") }, async () => JSON.stringify(bad)),
      ).rejects.toThrow(/EMQX_API_CREDENTIALS_SECRET_ARN/);
    }
  });

  it("does nothing without secret ARNs (npm start, tests), and ignores empty ones (sam local)", async () => {
    const fetch = vi.fn(async () => "x");
    const env: Record<string, string | undefined> = { INGEST_TOKENS: "local", API_KEYS_SECRET_ARN: " " };
    expect(await loadSecretsIntoEnv(env, fetch)).toEqual([]);
    expect(fetch).not.toHaveBeenCalled();
    expect(env.INGEST_TOKENS).toBe("local");
  });

  it("names the variable when a secret cannot be read, never a value", async () => {
    const env = { API_KEYS_SECRET_ARN: ARN("keys"), INGEST_TOKENS_SECRET_ARN: ARN("tokens") };
    const failure = loadSecretsIntoEnv(env, async (id) => {
      if (id === ARN("keys"))
        throw Object.assign(new Error("User is not authorized"), { name: "AccessDenied" });
      return "tokenAAAAAAAAAAAAAAAA";
    });
    await expect(failure).rejects.toThrow(
      "cannot read the secret named by API_KEYS_SECRET_ARN: AccessDenied: User is not authorized",
    );
    await expect(failure).rejects.not.toThrow(/tokenA/);
  });
});

describe("metrics", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** The EMF documents written to stdout while `run` runs. */
  function emf(run: () => void): Array<{ _aws: { CloudWatchMetrics: Json[] } } & Json> {
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    run();
    vi.restoreAllMocks();
    return lines
      .flatMap((chunk) => chunk.split("\n"))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
  }
  type Json = Record<string, unknown>;

  it("writes one EMF document per dimension set, in the EmqxBridge namespace with the service dimension", () => {
    const docs = emf(() => {
      const metrics = new EmfMetrics(METRICS_SERVICE.publisher);
      metrics.count(METRIC.EmqxPublishResults, 3, { result: "sent" });
      metrics.count(METRIC.EmqxPublishResults, 1, { result: "retry" });
      metrics.count(METRIC.EmqxPublishResults, 2, { result: "sent" });
      metrics.count(METRIC.CommandsByStatus, 5, { status: "sent" });
      metrics.flush();
    });
    const byDims = Object.fromEntries(
      docs.map((doc) => [JSON.stringify(doc._aws.CloudWatchMetrics[0]?.Dimensions), doc]),
    );
    expect(Object.keys(byDims).sort()).toEqual(
      [JSON.stringify([["service", "result"]]), JSON.stringify([["service", "status"]])].sort(),
    );
    for (const doc of docs) {
      expect(doc._aws.CloudWatchMetrics[0]?.Namespace).toBe(METRICS_NAMESPACE);
      expect(doc.service).toBe(METRICS_SERVICE.publisher);
    }
    const results = docs.filter((doc) => "result" in doc);
    const sent = results.find((doc) => doc.result === "sent");
    expect(sent?.EmqxPublishResults).toEqual([3, 2]);
    expect(results.find((doc) => doc.result === "retry")?.EmqxPublishResults).toBe(1);
  });

  it("writes counts without dimensions with the service dimension only, and nothing when nothing was counted", () => {
    const metrics = new EmfMetrics(METRICS_SERVICE.ingest);
    expect(emf(() => metrics.flush())).toEqual([]);
    const docs = emf(() => {
      metrics.count(METRIC.Duplicates);
      metrics.count(METRIC.Quarantined, 2);
      metrics.flush();
    });
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ service: METRICS_SERVICE.ingest, Duplicates: 1, Quarantined: 2 });
    expect(docs[0]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([["service"]]);
    expect(emf(() => metrics.flush())).toEqual([]);
  });

  it("is a no-op off Lambda (npm start, tests, npm run invoke)", () => {
    expect(createMetrics(METRICS_SERVICE.api, {})).toBe(noopMetrics);
    expect(createMetrics(METRICS_SERVICE.api, { AWS_LAMBDA_FUNCTION_NAME: "x" })).toBeInstanceOf(EmfMetrics);
  });
});
