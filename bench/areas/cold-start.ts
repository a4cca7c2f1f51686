import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { BUNDLING, HANDLER_ENTRIES, PROJECT_ROOT, RUNTIME } from "../../infra/lib/bridge-function.ts";
import { progressBar } from "../../local/simulator/progress.ts";
import { type Area, ms, type Row, times } from "../lib/report.ts";
import { median } from "../lib/stats.ts";

const run = promisify(execFile);
const GOAL = 1.1;
const HELLO = fileURLToPath(new URL("../cold-start/hello-handler.ts", import.meta.url));

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
 * esbuild from node_modules), against a hello-world Hono bundle with the same SDK clients, on Node 20
 * and Node 22 (npm's `node@22` package); one fresh process per sample, variants in rotating order.
 */
export async function coldStart(samples: number): Promise<Area> {
  const outdir = mkdtempSync(join(tmpdir(), "bench-bundles-"));
  try {
    const entries: Record<string, string> = { hello: HELLO, ...HANDLER_ENTRIES };
    const files: Record<string, string> = {};
    for (const [name, entry] of Object.entries(entries))
      files[name] = await bundle(entry, join(outdir, name));
    const variants: Variant[] = [
      ...Object.entries(files).map(([name, file]) => ({ name, file, flags: [] })),
      { name: "ingest --enable-source-maps", file: files.ingest as string, flags: ["--enable-source-maps"] },
    ];
    const nodes = await nodeBinaries();
    const rows: Row[] = [];
    const data: Record<string, Record<string, number>> = {};
    for (const node of nodes) {
      const init = await measure(node.path, variants, samples, `cold start ${node.label}`);
      data[node.label] = Object.fromEntries(Object.entries(init).map(([k, v]) => [k, median(v)]));
      rows.push(...rowsFor(node.label, data[node.label] as Record<string, number>));
    }
    const sizes = Object.entries(files).map(
      ([name, file]) => `${name} ${(statSync(file).size / 1024).toFixed(0)} KiB`,
    );
    return {
      id: "cold-start",
      title: "Cold start: module init vs a hello-world Hono bundle with the same SDK clients",
      rows,
      notes: [
        `Median of ${samples} fresh processes per bundle and Node version. Bundles: ${sizes.join(", ")}.`,
        "Init as configured by plain variables. On Lambda a `*_SECRET_ARN` adds the Secrets Manager client and Powertools Parameters (imported only then) and one GetSecretValue per secret.",
        ...(nodes.length < 2
          ? ["Node 22 was not available (npx -y node@22 failed): measured on Node 20 only."]
          : []),
      ],
      data: { medianInitMs: data },
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function rowsFor(label: string, init: Record<string, number>): Row[] {
  const hello = init.hello as number;
  const rows: Row[] = [];
  for (const name of Object.keys(HANDLER_ENTRIES)) {
    const ratio = (init[name] as number) / hello;
    rows.push({
      figure: `${label}: ${name} init vs hello-world`,
      value: `${times(ratio)} (${ms(init[name] as number)} vs ${ms(hello)})`,
      goal: `≤ ${times(GOAL)}`,
      met: ratio <= GOAL,
    });
  }
  const withMaps = init["ingest --enable-source-maps"] as number;
  rows.push({
    figure: `${label}: what --enable-source-maps would add to the ingest's init`,
    value: `${times(withMaps / (init.ingest as number))} (+${ms(withMaps - (init.ingest as number))})`,
    goal: "not set (maps read at the first error)",
  });
  return rows;
}

async function bundle(entry: string, outdir: string): Promise<string> {
  const outfile = join(outdir, "index.mjs");
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: RUNTIME.name.replace("nodejs", "node").replace(".x", ""),
    format: "esm",
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    keepNames: BUNDLING.keepNames,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    absWorkingDir: PROJECT_ROOT,
    logLevel: "warning",
  });
  return outfile;
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

/** This Node, and Node 22 from npm's `node@22` package (Lambda's runtime) when npx can get it. */
async function nodeBinaries(): Promise<Array<{ label: string; path: string }>> {
  const nodes = [{ label: `Node ${process.versions.node.split(".")[0]}`, path: process.execPath }];
  if (process.versions.node.startsWith("22.")) return nodes;
  try {
    const { stdout } = await run("npx", ["-y", "node@22", "-p", "process.execPath"], { timeout: 180_000 });
    nodes.push({ label: "Node 22", path: stdout.trim() });
  } catch {
    // Offline without the package in npm's cache: Node 20 only, and the notes say so.
  }
  return nodes;
}
