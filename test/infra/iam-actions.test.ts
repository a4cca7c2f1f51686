/**
 * Least privilege, checked against the code instead of against a list typed by hand: for every function
 * in the synthesized stack, the AWS operations its bundle can send (the SDK command modules esbuild keeps
 * after tree shaking, read from its metafile, bundled as NodejsFunction bundles it) must each be allowed
 * by its role, and its role must allow nothing else (the event sources' and log group's grants aside).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../infra/lib/app.ts";
import {
  BridgeFunction,
  BUNDLED_ALIASES,
  BUNDLING,
  PROJECT_ROOT,
  RUNTIME_NODE_MAJOR,
} from "../../infra/lib/bridge-function.ts";
import type { EmqxBridgeStack } from "../../infra/lib/stack.ts";

type Json = Record<string, unknown>;
type Statement = { Action: string | string[] };

/** `@aws-sdk/client-<dir>/dist-es/commands/<Op>Command.js` -> the IAM service prefix. */
const SERVICES: Record<string, string> = {
  dynamodb: "dynamodb",
  sqs: "sqs",
  sns: "sns",
  "secrets-manager": "secretsmanager",
};
const COMMAND_MODULE = /node_modules\/@aws-sdk\/client-([a-z-]+)\/dist-es\/commands\/(\w+)Command\.js$/;
/**
 * lib-dynamodb's DocumentClient commands (`PutCommand`) -> the DynamoDB operation each one sends. Each also
 * keeps its client command module, so this is a second reading of the same fact; a command not named
 * here counts as an operation of its own name, which no role grants: the test fails until it is added.
 */
const DOCUMENT_COMMAND_MODULE = /node_modules\/@aws-sdk\/lib-dynamodb\/dist-es\/commands\/(\w+)Command\.js$/;
const DOCUMENT_OPERATIONS: Record<string, string> = {
  Get: "GetItem",
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  BatchGet: "BatchGetItem",
  BatchWrite: "BatchWriteItem",
  TransactGet: "TransactGetItems",
  TransactWrite: "TransactWriteItems",
};

/**
 * The IAM actions one SDK operation needs. Batches are authorized by their single action; a transaction
 * by the actions of its items (the transaction's own items are listed by {@link TRANSACTION_ITEMS}).
 */
function actionsFor(service: string, operation: string): string[] {
  if (service === "sqs") return [`sqs:${operation.replace(/Batch$/, "")}`];
  if (service === "sns" && operation === "PublishBatch") return ["sns:Publish"];
  if (service === "dynamodb" && operation === "TransactWriteItems") return [];
  return [`${service}:${operation}`];
}
/** A transaction item kind -> the action DynamoDB checks for it (Using IAM with DynamoDB transactions). */
const TRANSACTION_ITEMS: Record<string, string> = {
  Put: "dynamodb:PutItem",
  Update: "dynamodb:UpdateItem",
  Delete: "dynamodb:DeleteItem",
  ConditionCheck: "dynamodb:ConditionCheckItem",
};
/**
 * The Secrets Manager client is bundled whole (Powertools' provider holds the aggregated client), so its
 * command modules say nothing; the code reads secrets only through Powertools' `getSecret`.
 */
const SECRETS_READ = /node_modules\/@aws-lambda-powertools\/parameters\/lib\/esm\/secrets\//;
/** Operations the SDK clients carry but never send as configured: endpoint discovery is off by default. */
const NEVER_SENT = new Set(["dynamodb:DescribeEndpoints"]);
/**
 * Every function boots with every store (functions/adapters/aws-deps.ts), so its bundle holds operations
 * other functions' code paths send. Each one a function's bundle holds but its role lacks is named here
 * with the reason its code never sends it; the test fails when an entry is granted or gone (stale).
 */
const NOT_SENT_BY: Record<string, Record<string, string>> = {
  "EmqxBridge/Bridge/Api": {
    "dynamodb:BatchGetItem": "the publisher's batch read of commands (readBatch)",
    "dynamodb:BatchWriteItem": "the ingest's quarantine writes (putMany)",
  },
  "EmqxBridge/Bridge/Publisher": {
    "dynamodb:PutItem": "it never creates: the stores' puts are the ingest's, the API's and the jobs'",
    "dynamodb:BatchWriteItem": "the ingest's quarantine writes (putMany)",
  },
  "EmqxBridge/Bridge/CommandDlq": {
    "dynamodb:BatchGetItem": "it reads one command (get) and moves it to failed (transition)",
    "dynamodb:BatchWriteItem": "the ingest's quarantine writes",
    "dynamodb:DeleteItem": "the publisher's hold release and the ingest's discard",
    "dynamodb:PutItem": "it never creates",
    "dynamodb:Query": "no listing: one command by its key",
    "sqs:SendMessage": "it sends no command: it only marks dead-lettered ones failed",
    "secretsmanager:GetSecretValue": "no NAME_SECRET_ARN in its environment: the boot reads no secret",
  },
  "EmqxBridge/Bridge/Jobs/Worker": {
    "dynamodb:BatchGetItem": "the publisher's batch read of commands",
    "dynamodb:BatchWriteItem": "the ingest's quarantine writes",
    "dynamodb:DeleteItem": "the publisher's hold release, the ingest's discard, the API's profile writes",
    "dynamodb:Scan": "the API's attendance export",
    "secretsmanager:GetSecretValue": "no NAME_SECRET_ARN in its environment: the boot reads no secret",
  },
  "EmqxBridge/Bridge/Gaps/Tracker": {
    "dynamodb:BatchGetItem": "the publisher's batch read of commands",
    "dynamodb:BatchWriteItem": "the ingest's quarantine writes",
    "dynamodb:DeleteItem": "the publisher's hold release, the ingest's discard: the tracker deletes nothing",
  },
};

let outdir: string;
let stack: EmqxBridgeStack;
let template: Template;
let resources: Record<string, Json & { Type: string; Properties: Json }>;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), "bridge-iam-"));
  ({ stack } = createApp({ outdir, context: { "aws:cdk:bundling-stacks": [] } }));
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as typeof resources;
}, 120_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

function bridgeFunctions(): BridgeFunction[] {
  return stack.node.findAll().filter((c): c is BridgeFunction => c instanceof BridgeFunction);
}

/** The operations the entry's bundle can send: the SDK command modules left in its output. */
async function operationsOf(entry: string): Promise<string[]> {
  const kept = await keptModules(entry);
  const named = namedByOurCode(kept);
  const actions = new Set<string>();
  for (const [service, operation] of kept.flatMap(sdkOperation)) {
    if (service === "dynamodb" && !named(operation)) continue;
    for (const action of actionsFor(service, operation)) actions.add(action);
  }
  for (const action of transactionActions(kept)) actions.add(action);
  if (kept.some((p) => SECRETS_READ.test(p))) actions.add("secretsmanager:GetSecretValue");
  return [...actions].filter((action) => !NEVER_SENT.has(action)).sort();
}

/**
 * Whether our own code in the bundle names the command of a DynamoDB operation (`ScanCommand`,
 * `PutItemCommand`, `PutCommand`). lib-dynamodb builds its paginators when it is imported (top-level
 * `createPaginator` calls, in a package that declares no `sideEffects: false`), which keeps its
 * `ScanCommand` and `QueryCommand` in every bundle that imports it: carried, never sent unless our code
 * sends them.
 */
function namedByOurCode(kept: string[]): (operation: string) => boolean {
  const sources = kept
    .filter((path) => !path.includes("node_modules/"))
    .map((path) => readFileSync(join(PROJECT_ROOT, path), "utf8"))
    .join("\n");
  return (operation) => {
    const documentNames = Object.keys(DOCUMENT_OPERATIONS).filter(
      (c) => DOCUMENT_OPERATIONS[c] === operation,
    );
    return [operation, ...documentNames].some((name) => new RegExp(`\\b${name}Command\\b`).test(sources));
  };
}

/** The IAM service and operation a bundled SDK command module sends (none for any other module). */
function sdkOperation(path: string): Array<[string, string]> {
  const document = DOCUMENT_COMMAND_MODULE.exec(path);
  if (document) {
    const command = document[1] as string;
    return [["dynamodb", DOCUMENT_OPERATIONS[command] ?? command]];
  }
  const match = COMMAND_MODULE.exec(path);
  const service = match ? SERVICES[match[1] as string] : undefined;
  if (!match || !service || service === "secretsmanager") return [];
  return [[service, match[2] as string]];
}

/** The modules esbuild keeps in the entry's bundle (some of their bytes are in the output). */
async function keptModules(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    write: false,
    metafile: true,
    outdir: join(outdir, "esbuild"),
    platform: "node",
    target: `node${RUNTIME_NODE_MAJOR}`,
    format: "esm",
    minify: BUNDLING.minify,
    keepNames: BUNDLING.keepNames,
    mainFields: [...BUNDLING.mainFields],
    alias: BUNDLED_ALIASES,
    logLevel: "silent",
  });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error(`no output for ${entry}`);
  return Object.entries(output.inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
}

/** The item kinds our own code puts in `TransactItems` (`{ Put: ... }`, `{ ConditionCheck: ... }`). */
function transactionActions(kept: string[]): string[] {
  if (!kept.some((p) => p.endsWith("/TransactWriteItemsCommand.js"))) return [];
  const ours = kept.filter((p) => p.startsWith("functions/"));
  const found = new Set<string>();
  for (const path of ours) {
    const source = readFileSync(join(PROJECT_ROOT, path), "utf8");
    if (!/\bTransactWrite(Items)?Command\b/.test(source)) continue;
    for (const [kind, action] of Object.entries(TRANSACTION_ITEMS))
      if (new RegExp(`\\b${kind}:\\s*\\{`).test(source)) found.add(action);
  }
  return [...found];
}

/** What the role allows, apart from its log group and the statements its SQS event sources added. */
function grantedTo(fn: BridgeFunction): { code: string[]; eventSources: string[] } {
  const roleId = stack.getLogicalId(fn.role.node.defaultChild as CfnElement);
  const statements = Object.values(resources)
    .filter(
      (r) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties.Roles).includes(`"${roleId}"`),
    )
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
    .map((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
    .filter((actions) => !actions.every((a) => a.startsWith("logs:")));
  const isEventSource = (actions: string[]) => actions.includes("sqs:ReceiveMessage");
  const sorted = (lists: string[][]) => [...new Set(lists.flat())].sort();
  return {
    code: sorted(statements.filter((a) => !isEventSource(a))),
    eventSources: sorted(statements.filter(isEventSource)),
  };
}

describe("each function's role against the SDK calls its bundle can make", () => {
  it("reads a DocumentClient command as the DynamoDB operation it sends, and nothing unused", async () => {
    const entry = join(PROJECT_ROOT, "test/infra/fixtures/document-client-calls.ts");
    expect(await operationsOf(entry)).toEqual(["dynamodb:PutItem", "dynamodb:Query"]);
  }, 120_000);

  it("allows every operation the code can send, and nothing the code never sends", async () => {
    const functions = bridgeFunctions();
    expect(functions.length).toBeGreaterThanOrEqual(7);
    const report: Record<string, { missing: string[]; excess: string[]; staleNotSent: string[] }> = {};
    for (const fn of functions) {
      const inBundle = await operationsOf(fn.entry);
      const notSent = NOT_SENT_BY[fn.node.path] ?? {};
      const granted = grantedTo(fn);
      const allowed = new Set([...granted.code, ...granted.eventSources]);
      report[fn.node.path] = {
        missing: inBundle.filter((action) => !allowed.has(action) && !(action in notSent)),
        excess: granted.code.filter((action) => !inBundle.includes(action)),
        staleNotSent: Object.keys(notSent).filter((a) => allowed.has(a) || !inBundle.includes(a)),
      };
    }
    const wrong = Object.fromEntries(
      Object.entries(report).filter(([, r]) => Object.values(r).some((list) => list.length > 0)),
    );
    expect(wrong, "functions whose role does not match their code's SDK calls").toEqual({});
  }, 600_000);
});
