import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type BuildOptions, build } from "esbuild";
import {
  BUNDLED_ALIASES,
  BUNDLING,
  HANDLER_ENTRIES,
  PROJECT_ROOT,
  RUNTIME_NODE_MAJOR,
} from "../../infra/lib/bridge-function.ts";
import { progressBar } from "../../local/simulator/progress.ts";
import {
  clientLabel,
  helloHandlerSource,
  leastIngestSource,
  SDK_CLIENTS,
  type SdkClientPackage,
} from "../cold-start/hello-handler.ts";
import { LAMBDA_NODE_LABEL, lambdaNodePath, onLambdaNode } from "../lib/lambda-node.ts";
import { type Area, ms, type Row, times } from "../lib/report.ts";
import { median } from "../lib/stats.ts";

const run = promisify(execFile);
const GOAL = 1.1;
/** The baseline the issue first measured against: DynamoDB and SQS clients only. */
const PLAIN_CLIENTS: SdkClientPackage[] = ["@aws-sdk/client-dynamodb", "@aws-sdk/client-sqs"];
/** The least an ingest the brief allows (hello-handler.ts's `leastIngestSource`). */
const LEAST_INGEST = "least the brief allows (ingest)";
/** The ingest bundled with the SDK's whole default credential chain, as esbuild bundles it unasked. */
const FULL_CHAIN = "ingest with the SDK's full credential chain";

/** Imports a bundle the way Lambda's runtime does and prints how long its module init took. */
const RUNNER = `
const started = performance.now();
await import(process.argv[1]);
process.stdout.write(JSON.stringify({ initMs: performance.now() - started }));
`;

/** The configuration every handler reads at init, as plain variables (no secret: see the notes). */
const ENV = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  TABLE_NAME: "bench",
  EVENTS_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/events.fifo",
  COMMANDS_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/commands.fifo",
  INGEST_TOKENS: "bench-token-0123456789abcdef",
  API_KEYS: "bench-api-key-0123456789abcdef",
  EMQX_API_URL: "https://emqx.example.com:18084/api/v5",
  EMQX_API_KEY: "bench",
  EMQX_API_SECRET: "bench-secret",
};

interface Variant {
  name: string;
  file: string;
  flags: string[];
}

/**
 * Module init of each handler bundled exactly as `npm run synth` bundles it (infra's BUNDLING options,
 * esbuild from node_modules), against a hello-world Hono bundle that makes the same SDK clients as that
 * handler's bundle holds (and against the DynamoDB + SQS one the issue first measured), on Lambda's Node
 * (and on this one, when it is another); one fresh process per sample, variants in rotating order.
 */
export async function coldStart(samples: number): Promise<Area> {
  const outdir = mkdtempSync(join(tmpdir(), "bench-bundles-"));
  try {
    const files: Record<string, string> = {};
    const clientsOf: Record<string, SdkClientPackage[]> = {};
    for (const [name, entry] of Object.entries(HANDLER_ENTRIES)) {
      const built = await bundle({ entryPoints: [entry] }, join(outdir, name));
      files[name] = built.file;
      clientsOf[name] = built.clients;
    }
    const baselineOf = Object.fromEntries(
      Object.entries(clientsOf).map(([name, clients]) => [name, helloName(clients)]),
    );
    for (const clients of [PLAIN_CLIENTS, ...Object.values(clientsOf)]) {
      const name = helloName(clients);
      if (files[name]) continue;
      files[name] = await bundleSource(helloHandlerSource(clients), join(outdir, name));
    }
    files[LEAST_INGEST] = await bundleSource(
      leastIngestSource(clientsOf.ingest ?? []),
      join(outdir, "least-ingest"),
    );
    const fullChain = await bundle({ entryPoints: [HANDLER_ENTRIES.ingest] }, join(outdir, "full-chain"), {});
    const variants: Variant[] = [
      ...Object.entries(files).map(([name, file]) => ({ name, file, flags: [] })),
      { name: "ingest --enable-source-maps", file: files.ingest as string, flags: ["--enable-source-maps"] },
      { name: FULL_CHAIN, file: fullChain.file, flags: [] },
    ];
    const nodes = await nodeBinaries();
    const rows: Row[] = [];
    const data: Record<string, Record<string, number>> = {};
    const rounds: Record<string, Record<string, number[]>> = {};
    for (const node of nodes) {
      const init = await measure(node.path, variants, samples, `cold start ${node.label}`);
      data[node.label] = Object.fromEntries(Object.entries(init).map(([k, v]) => [k, median(v)]));
      rounds[node.label] = init;
      rows.push(...rowsFor(node.label, new Inits(init), baselineOf));
    }
    const sizes = Object.entries(files).map(
      ([name, file]) => `${name} ${(statSync(file).size / 1024).toFixed(0)} KiB`,
    );
    return {
      id: "cold-start",
      title: "Cold start: module init vs a hello-world Hono bundle with the same SDK clients",
      rows,
      notes: [
        `${samples} rounds of fresh processes, each round every bundle once (in rotating order), per Node version: times are medians, ratios the median of the rounds' own ratios. Bundles: ${sizes.join(", ")}.`,
        "Each handler's baseline makes the SDK clients its bundle holds (Secrets Manager where a `*_SECRET_ARN` can name a secret); the last figure of a row is against the DynamoDB + SQS hello-world. Baselines are bundled as the handlers are, so they too take the SDK's credentials from the environment alone (functions/adapters/env-credentials.ts).",
        "Init as configured by plain variables. As deployed, every function names its secrets (`*_SECRET_ARN`): it then imports Powertools Parameters, makes the Secrets Manager client and reads each secret once (in parallel) at init.",
        ...(nodes.some((node) => node.label === LAMBDA_NODE_LABEL)
          ? []
          : [
              `${LAMBDA_NODE_LABEL} (Lambda's runtime) was not available (npx failed): measured on ${process.version} only.`,
            ]),
      ],
      // Every round's init per bundle, so each ratio of the table can be derived again.
      data: { medianInitMs: data, initMsByRound: rounds, baselines: baselineOf },
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** `hello (DynamoDB, SQS)`: the baseline variant with these clients. */
function helloName(clients: readonly SdkClientPackage[]): string {
  return `hello (${clients.map(clientLabel).join(", ")})`;
}

/**
 * Each variant's init per round (rounds run every variant once, back to back): ratios are the median of
 * the rounds' own ratios, so a slow spell of the machine, which slows a whole round, cancels out.
 */
class Inits {
  constructor(private readonly samples: Record<string, number[]>) {}

  median(name: string): number {
    return median(this.samples[name] ?? []);
  }

  ratio(name: string, baseline: string): number {
    return median(this.perRound(name, baseline, (value, base) => value / base));
  }

  /** The median of the rounds' own differences: what `name` adds to `baseline`'s init. */
  added(name: string, baseline: string): number {
    return median(this.perRound(name, baseline, (value, base) => value - base));
  }

  private perRound(name: string, baseline: string, compare: (value: number, base: number) => number) {
    const values = this.samples[name];
    const base = this.samples[baseline];
    if (!values || !base) throw new Error(`no cold starts measured for ${values ? baseline : name}`);
    return values.map((value, round) => compare(value, base[round] as number));
  }
}

function rowsFor(label: string, init: Inits, baselineOf: Record<string, string>): Row[] {
  const plain = helloName(PLAIN_CLIENTS);
  const rows: Row[] = [];
  for (const name of Object.keys(HANDLER_ENTRIES)) {
    const baseline = baselineOf[name] as string;
    const ratio = init.ratio(name, baseline);
    rows.push({
      figure: `${label}: ${name} init vs ${baseline}`,
      value: `${times(ratio)} (${ms(init.median(name))} vs ${ms(init.median(baseline))}); ${times(init.ratio(name, plain))} vs the DynamoDB + SQS hello`,
      goal: `≤ ${times(GOAL)}`,
      met: ratio <= GOAL,
    });
  }
  rows.push(leastIngestRow(label, init, baselineOf));
  const added = (variant: string) =>
    `${times(init.ratio(variant, "ingest"))} (+${ms(init.added(variant, "ingest"))})`;
  rows.push({
    figure: `${label}: what --enable-source-maps would add to the ingest's init`,
    value: added("ingest --enable-source-maps"),
    goal: "not set (maps read at the first error)",
  });
  rows.push({
    figure: `${label}: what the SDK's full credential chain would add to the ingest's init`,
    value: added(FULL_CHAIN),
    goal: "not bundled (Lambda's credentials are in the environment)",
  });
  return rows;
}

/** The ingest against the least the brief allows, and that least against the ingest's hello-world. */
function leastIngestRow(label: string, init: Inits, baselineOf: Record<string, string>): Row {
  const hello = baselineOf.ingest as string;
  return {
    figure: `${label}: ingest init vs the least the brief allows (its hello + Powertools Logger and Metrics, the bearer check, the valibot schemas, the secrets loader); that least vs the hello`,
    value: `${times(init.ratio("ingest", LEAST_INGEST))} (${ms(init.median("ingest"))} vs ${ms(init.median(LEAST_INGEST))}); the least ${times(init.ratio(LEAST_INGEST, hello))} of the hello`,
  };
}

/** A baseline's generated source, bundled as the handlers are (imports resolved from the project root). */
async function bundleSource(contents: string, outdir: string): Promise<string> {
  const stdin = { contents, resolveDir: PROJECT_ROOT, loader: "ts" as const };
  return (await bundle({ stdin }, outdir)).file;
}

const CLIENT_MODULE = /node_modules\/(@aws-sdk\/client-[a-z-]+)\//;

/**
 * Bundles as infra bundles (hello-worlds too: the baselines get the same credential provider); returns
 * the file and the SDK clients (of SDK_CLIENTS) the bundle holds.
 */
async function bundle(
  input: Pick<BuildOptions, "entryPoints" | "stdin">,
  outdir: string,
  alias: Record<string, string> = BUNDLED_ALIASES,
): Promise<{ file: string; clients: SdkClientPackage[] }> {
  const outfile = join(outdir, "index.mjs");
  const result = await build({
    ...input,
    outfile,
    bundle: true,
    platform: "node",
    target: `node${RUNTIME_NODE_MAJOR}`,
    format: "esm",
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    keepNames: BUNDLING.keepNames,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    alias,
    absWorkingDir: PROJECT_ROOT,
    logLevel: "warning",
    metafile: true,
  });
  const found = new Set(
    Object.keys(result.metafile.inputs).map((path) => path.match(CLIENT_MODULE)?.[1] ?? ""),
  );
  const clients = (Object.keys(SDK_CLIENTS) as SdkClientPackage[]).filter((c) => found.has(c));
  return { file: outfile, clients };
}

async function measure(node: string, variants: Variant[], samples: number, label: string) {
  const out: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  const progress = progressBar(label.padEnd(20), samples * variants.length);
  let done = 0;
  for (let i = 0; i < samples; i++) {
    // Rotate the order each round so a slow moment of the machine does not always hit the same bundle.
    const order = variants.map((_, k) => variants[(k + i) % variants.length] as Variant);
    for (const variant of order) {
      const { stdout } = await run(
        node,
        [...variant.flags, "--input-type=module", "-e", RUNNER, variant.file],
        { env: { PATH: process.env.PATH ?? "", ...ENV }, timeout: 60_000 },
      );
      (out[variant.name] as number[]).push((JSON.parse(stdout) as { initMs: number }).initMs);
      progress(++done);
    }
  }
  return out;
}

/** Lambda's Node (npm's `node@24` when this one is another), and this one too when it is not Lambda's. */
async function nodeBinaries(): Promise<Array<{ label: string; path: string }>> {
  const lambda = await lambdaNodePath();
  const nodes = lambda ? [{ label: LAMBDA_NODE_LABEL, path: lambda }] : [];
  if (!onLambdaNode())
    nodes.push({ label: `Node ${process.versions.node.split(".")[0]}`, path: process.execPath });
  return nodes;
}
