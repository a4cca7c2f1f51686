/**
 * The artifacts `cdk deploy` would upload: the app is synthesized for real (the handlers bundled by
 * NodejsFunction with the local esbuild, as in `npm run synth`), then each `index.mjs` is loaded by a
 * plain Node process, as Lambda's runtime loads it, and invoked with the sample events in test/events/
 * against DynamoDB Local and the SQS stand-in.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { builtinModules, createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import type { SQSBatchResponse } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAMBDA_NODE_LABEL, lambdaNodePath } from "../../bench/lib/lambda-node.ts";
import { createApp } from "../../infra/lib/app.ts";
import { TIMEOUTS } from "../../infra/lib/emqx-bridge.ts";
import type { EmqxBridgeStack } from "../../infra/lib/stack.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

const run = promisify(execFile);
const EVENTS_DIR = fileURLToPath(new URL("../events/", import.meta.url));
/** The credentials the sample events carry (see local/invoke.ts). */
const INGEST_TOKEN = "test-token-0123456789abcdef";
const API_KEY = "test-api-key-0123456789abcdef";
const RESULT_MARKER = "@@handler-result@@";
/**
 * Packages a bundle may import() without containing them: hono-openapi's adapters for schema libraries
 * the API does not use (it uses valibot), each loaded only when handed such a schema, inside a try.
 */
const OPTIONAL_VENDORS = new Set(["effect", "sury", "zod/v4/core", "zod-to-json-schema", "zod-openapi"]);

/** Loads an artifact and calls its handler once, the way Lambda's Node runtime would. */
const RUNNER = `
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [artifact, eventFile, timeoutMs] = process.argv.slice(1);
const started = Date.now();
const { handler } = await import(pathToFileURL(artifact).href);
const context = {
  functionName: "bundle-test", functionVersion: "$LATEST", awsRequestId: "bundle-test-request",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:bundle-test", memoryLimitInMB: "512",
  logGroupName: "/aws/lambda/bundle-test", logStreamName: "test", callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => Number(timeoutMs) - (Date.now() - started),
};
const result = await handler(JSON.parse(readFileSync(eventFile, "utf8")), context);
process.stdout.write("\\n${RESULT_MARKER}" + JSON.stringify(result) + "\\n");
process.exit(0);
`;

type Fn = "ingest" | "api" | "publisher";
type HttpResult = { statusCode: number; headers?: Record<string, string>; body: string };

let outdir: string;
let stack: EmqxBridgeStack;
let env: TestResources;
const artifacts = {} as Record<Fn, string>;

/** A stand-in for Secrets Manager's GetSecretValue, so the artifacts load their secrets at cold start. */
const SECRETS: Record<string, string> = {
  "arn:aws:secretsmanager:us-east-1:000000000000:secret:IngestTokens-AbCdEf": `old-token-0123456789abcdef,${INGEST_TOKEN}`,
  "arn:aws:secretsmanager:us-east-1:000000000000:secret:ApiKeys-AbCdEf": API_KEY,
  "arn:aws:secretsmanager:us-east-1:000000000000:secret:EmqxApi-AbCdEf": JSON.stringify({
    EMQX_API_KEY: "bundle-test",
    EMQX_API_SECRET: "bundle-test-secret",
  }),
};
const secretIds = Object.keys(SECRETS) as [string, string, string];
const secretsRead: string[] = [];
/** Who signed each request to the stand-in: the access key id of its SigV4 scope, and the session token. */
const signers: Array<{ accessKeyId: string | undefined; sessionToken: string | undefined }> = [];
let secretsManager: Server;
let secretsEndpoint: string;

function startSecretsManager(): Promise<void> {
  secretsManager = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      secretsRead.push(`${request.headers["x-amz-target"]} ${SecretId}`);
      signers.push({
        accessKeyId: /Credential=([^/]+)\//.exec(request.headers.authorization ?? "")?.[1],
        sessionToken: request.headers["x-amz-security-token"] as string | undefined,
      });
      const value = SECRETS[SecretId];
      response.writeHead(value ? 200 : 400, { "content-type": "application/x-amz-json-1.1" });
      response.end(
        JSON.stringify(
          value
            ? { ARN: SecretId, Name: SecretId, SecretString: value, VersionId: "v1" }
            : { __type: "ResourceNotFoundException", message: "no such secret" },
        ),
      );
    });
  });
  return new Promise((resolve) =>
    secretsManager.listen(0, "127.0.0.1", () => {
      secretsEndpoint = `http://127.0.0.1:${(secretsManager.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

beforeAll(async () => {
  await startSecretsManager();
  env = await createTestResources();
  outdir = mkdtempSync(join(tmpdir(), "bridge-bundles-"));
  ({ stack } = createApp({ outdir })); // bundles the three handlers, as `npm run synth` does
  for (const fn of ["ingest", "api", "publisher"] as const) {
    const cfn = stack.bridge[fn].function.node.defaultChild as CfnFunction;
    const code = stack.resolve(cfn.code) as { s3Key: string };
    artifacts[fn] = join(outdir, `asset.${code.s3Key.replace(/\.zip$/, "")}`, "index.mjs");
  }
}, 120_000);

afterAll(() => {
  secretsManager?.close();
  env?.destroy();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

async function invoke(
  fn: Fn,
  eventFile: string,
  extraEnv: Record<string, string> = {},
  node = process.execPath,
): Promise<unknown> {
  const { stdout } = await run(
    node,
    [
      // As on Lambda: no --enable-source-maps (the bundle maps its stacks itself, at the first error).
      "--input-type=module",
      "-e",
      RUNNER,
      artifacts[fn],
      isAbsolute(eventFile) ? eventFile : join(EVENTS_DIR, eventFile),
      String(TIMEOUTS[fn].toMilliseconds()),
    ],
    {
      timeout: 30_000,
      env: {
        PATH: process.env.PATH ?? "",
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "local",
        AWS_SECRET_ACCESS_KEY: "local",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        POWERTOOLS_LOG_LEVEL: "WARN",
        TABLE_NAME: env.tableName,
        EVENTS_QUEUE_URL: env.eventsQueueUrl,
        COMMANDS_QUEUE_URL: env.commandsQueueUrl,
        DYNAMODB_ENDPOINT: env.dynamodbEndpoint,
        SQS_ENDPOINT: env.sqsEndpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsEndpoint,
        ...extraEnv,
      },
    },
  );
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_MARKER));
  if (!line) throw new Error(`the ${fn} handler printed no result:\n${stdout}`);
  return JSON.parse(line.slice(RESULT_MARKER.length));
}

describe("the bundled handlers", () => {
  it("are minified ESM with source maps, with everything but Node built-ins inside", () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
    for (const fn of ["ingest", "api", "publisher"] as const) {
      const file = artifacts[fn];
      expect(existsSync(`${file}.map`), `${fn} source map`).toBe(true);
      const code = readFileSync(file, "utf8");
      expect(code.startsWith("import { createRequire as __bridgeCreateRequire }")).toBe(true);
      expect(code.length).toBeLessThan(3 * 1024 * 1024);
      expect(code.split("\n").length).toBeLessThan(200); // minified
      // Static imports start a statement (error texts mention packages too, so the pattern is strict).
      const staticImports = [
        ...code.matchAll(/(?:^|[;\n])\s*import\s*(?:[\w$*{},\s]+from\s*)?["']([^"']+)["']/g),
      ].map((m) => m[1] as string);
      expect(staticImports).toContain("node:module");
      expect(staticImports.filter((specifier) => !builtins.has(specifier))).toEqual([]);
      const dynamicImports = [...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map(
        (m) => m[1] as string,
      );
      const missing = dynamicImports.filter((specifier) => !builtins.has(specifier));
      expect(
        missing.filter((specifier) => !OPTIONAL_VENDORS.has(specifier)),
        fn,
      ).toEqual([]);
    }
  });

  it("ingest: reads its tokens from Secrets Manager, then stores and fans out a punch (200)", async () => {
    const result = (await invoke("ingest", "ingest-attendance.json", {
      INGEST_TOKENS_SECRET_ARN: secretIds[0], // two tokens, as during a rotation
    })) as HttpResult;
    expect(secretsRead).toContain(`secretsmanager.GetSecretValue ${secretIds[0]}`);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({
      result: "attendance",
      sn: "SN0001",
      stored: 1,
      duplicates: 0,
    });
    expect(await userReads(env).attendance("SN0001")).toHaveLength(1);
    const events = await env.drainEvents();
    expect(events.map((event) => [event.type, event.sn])).toEqual([["attendance", "SN0001"]]);
  });

  it(`ingest: stores and fans out a punch on ${LAMBDA_NODE_LABEL}, Lambda's runtime, too`, async (ctx) => {
    // npm's node@24 package, as the benchmarks use it; offline and outside CI there is none to run.
    const node = await lambdaNodePath();
    if (!node && !process.env.CI) ctx.skip();
    expect(node, `npx could not get ${LAMBDA_NODE_LABEL}`).toBeDefined();
    const event = join(outdir, "ingest-attendance-sn0024.json");
    writeFileSync(
      event,
      readFileSync(join(EVENTS_DIR, "ingest-attendance.json"), "utf8").replaceAll("SN0001", "SN0024"),
    );
    const result = (await invoke(
      "ingest",
      event,
      { INGEST_TOKENS_SECRET_ARN: secretIds[0] },
      node,
    )) as HttpResult;
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ result: "attendance", sn: "SN0024", stored: 1 });
    expect(await userReads(env).attendance("SN0024")).toHaveLength(1);
    const events = await env.drainEvents();
    expect(events.map((fanned) => [fanned.type, fanned.sn])).toEqual([["attendance", "SN0024"]]);
  }, 240_000);

  it("does not start when a secret cannot be read, and says which, at its TypeScript line", async () => {
    const failure = invoke("ingest", "ingest-attendance.json", {
      INGEST_TOKENS_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:Missing-AbCdEf",
    });
    await expect(failure).rejects.toThrow(/cannot read the secret named by INGEST_TOKENS_SECRET_ARN/);
    // The stack is mapped through index.mjs.map although Node's own source map support is off.
    await expect(failure).rejects.toThrow(/at .*functions\/adapters\/secrets\.ts:\d+:\d+/);
  });

  it("sign with the role's credentials Lambda puts in the environment, and carry no other credential source", async () => {
    signers.length = 0;
    const result = (await invoke("ingest", "ingest-attendance.json", {
      INGEST_TOKENS_SECRET_ARN: secretIds[0],
      AWS_ACCESS_KEY_ID: "ASIABUNDLETEST",
      AWS_SESSION_TOKEN: "bundle-test-session-token",
    })) as HttpResult;
    expect(result.statusCode).toBe(200);
    expect(signers).toEqual([{ accessKeyId: "ASIABUNDLETEST", sessionToken: "bundle-test-session-token" }]);
    // The default chain's other providers are not in the bundles: nothing reads what they read.
    const traces = ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "sso_start_url"];
    for (const fn of ["ingest", "api", "publisher"] as const) {
      const code = readFileSync(artifacts[fn], "utf8");
      expect(
        traces.filter((trace) => code.includes(trace)),
        fn,
      ).toEqual([]);
    }
  });

  it("ingest: refuses the same event with another token (401)", async () => {
    const result = (await invoke("ingest", "ingest-attendance.json", {
      INGEST_TOKENS: "another-token-0123456789abcdef",
    })) as HttpResult;
    expect(result.statusCode).toBe(401);
  });

  it("api: answers 401 without a key", async () => {
    const result = (await invoke("api", "api-no-key.json", { API_KEYS: API_KEY })) as HttpResult;
    expect(result.statusCode).toBe(401);
  });

  it("api: serves the live page's scripts from the copies next to its bundle, without a key", async () => {
    const apiDir = dirname(artifacts.api);
    expect(readdirSync(apiDir).sort()).toEqual([
      "index.mjs",
      "index.mjs.map",
      "live-client.js",
      "mqtt.esm.js",
    ]);
    const mqttJs = createRequire(import.meta.url).resolve("mqtt/dist/mqtt.esm");
    expect(readFileSync(join(apiDir, "mqtt.esm.js"), "utf8")).toBe(readFileSync(mqttJs, "utf8"));
    // The page's own script (MQTT.js, 340 KB, is read the same way but too big for the runner's stdout).
    const result = (await invoke("api", "api-live-client-js.json", { API_KEYS: API_KEY })) as HttpResult;
    expect(result.statusCode).toBe(200);
    expect(result.headers?.["content-type"]).toMatch(/^text\/javascript/);
    expect(result.body).toBe(readFileSync(join(apiDir, "live-client.js"), "utf8"));
  });

  it("api: queues a command with a key from Secrets Manager (202)", async () => {
    const result = (await invoke("api", "api-create-command.json", {
      API_KEYS_SECRET_ARN: secretIds[1],
    })) as HttpResult;
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body)).toMatchObject({
      command: { id: "sync-42", sn: "SN0001", status: "queued" },
    });
  });

  it("publisher: reports the batch's message for retry when EMQX cannot be reached", async () => {
    const event = JSON.parse(readFileSync(join(EVENTS_DIR, "publisher-commands.json"), "utf8")) as {
      Records: Array<{ messageId: string }>;
    };
    const result = (await invoke("publisher", "publisher-commands.json", {
      EMQX_API_URL: "http://127.0.0.1:9/api/v5", // nothing listens: connection refused
      EMQX_API_CREDENTIALS_SECRET_ARN: secretIds[2], // the key and secret, as one JSON secret
      EMQX_TIMEOUT_MS: "2000",
    })) as SQSBatchResponse;
    expect(secretsRead).toContain(`secretsmanager.GetSecretValue ${secretIds[2]}`);
    expect(result).toEqual({
      batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })),
    });
  });
});
