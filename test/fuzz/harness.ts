import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { progressBar } from "../../local/simulator/progress.ts";
import { apiCases } from "./api-families.ts";
import type { CaseSpec, FuzzCase } from "./cases.ts";
import { credentialCases } from "./credential-families.ts";
import { ingestCases } from "./ingest-families.ts";
import { judge, type Outcome } from "./judge.ts";
import { type CursorRoute, cursorCases, hugeCase, hugeCases } from "./other-families.ts";
import { type FuzzReport, summarize } from "./report.ts";
import { seedCursors } from "./seed.ts";
import { closeAgent, type Sent, send } from "./send.ts";
import { type Endpoints, type FuzzTargets, startFuzzTargets } from "./targets.ts";
import { checkQuarantined, quarantineThroughApi, storedNotFannedOut } from "./verify.ts";

export interface FuzzOptions extends Endpoints {
  runs: number;
  seed: number;
  concurrency?: number;
  /** Bodies of exactly this size are sent `giantBodies` times, streamed, to see memory stay bounded. */
  giantBytes: number;
  giantBodies: number;
  progress?: boolean;
}

/** Generated inputs, by family weight; serial numbers are handed out one per case. */
export function generateCases(
  options: Pick<FuzzOptions, "runs" | "seed" | "giantBytes" | "giantBodies">,
): FuzzCase[] {
  const any: fc.Arbitrary<CaseSpec> = fc.oneof(
    { arbitrary: ingestCases, weight: 55 },
    { arbitrary: apiCases, weight: 25 },
    { arbitrary: credentialCases, weight: 8 },
    { arbitrary: cursorCases, weight: 8 },
    { arbitrary: hugeCases, weight: 4 },
  );
  const specs = fc.sample(any, { numRuns: options.runs, seed: options.seed });
  // One giant body per route that takes a body, in turn.
  const giants = Array.from({ length: options.giantBodies }, (_, i) => hugeCase(options.giantBytes, i));
  const all = [...specs, ...giants];
  return all.map((spec, i) => spec(`FZ${i}`));
}

/** Runs the fuzz against a fresh ingest and API and checks every answer, the quarantine and the fan-out. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const cases = generateCases(options);
  const targets = await startFuzzTargets(options);
  try {
    const cursors = await seedCursors(targets);
    const rss = trackRss();
    const firstDay = today();
    const started = Date.now();
    const outcomes = await runAll(cases, (c) => judgeOne(targets, cursors, c), options);
    const seconds = (Date.now() - started) / 1000;
    rss.stop();
    checkQuarantined(outcomes, await quarantineThroughApi(targets, days(firstDay, today())));
    const notFannedOut = await storedNotFannedOut(targets);
    return summarize(outcomes, { seed: options.seed, seconds, rss: rss.result(), notFannedOut });
  } finally {
    await targets.stop();
    closeAgent();
  }
}

async function judgeOne(
  targets: FuzzTargets,
  cursors: Record<CursorRoute, string>,
  fuzzCase: FuzzCase,
): Promise<Outcome> {
  const request = resolve(targets, cursors, fuzzCase);
  const answer = await send(request).catch((error: unknown) =>
    error instanceof Error ? error : new Error(String(error)),
  );
  return judge(fuzzCase, answer);
}

/** The case's request with real URLs, secrets and cursors put in. */
function resolve(targets: FuzzTargets, cursors: Record<CursorRoute, string>, fuzzCase: FuzzCase): Sent {
  const fill = (text: string) => text.replace(/\{CURSOR:(\w+)\}/g, (_, route: CursorRoute) => cursors[route]);
  const base = fuzzCase.target === "ingest" ? targets.ingestUrl : targets.apiUrl;
  const authorization = authorizationOf(targets, fuzzCase);
  return {
    method: fuzzCase.method,
    url: `${base}${fill(fuzzCase.path)}`,
    headers: {
      ...(fuzzCase.body !== undefined || fuzzCase.streamBytes ? { "content-type": "application/json" } : {}),
      ...(authorization === undefined ? {} : { authorization }),
    },
    ...(fuzzCase.body !== undefined ? { body: fill(fuzzCase.body) } : {}),
    ...(fuzzCase.streamBytes ? { streamBytes: fuzzCase.streamBytes } : {}),
  };
}

function authorizationOf(targets: FuzzTargets, fuzzCase: FuzzCase): string | undefined {
  const { auth } = fuzzCase;
  if (auth.kind === "emqx") return `Bearer ${targets.secrets.emqx}`;
  if (auth.kind === "api") return `Bearer ${targets.secrets.api}`;
  if (auth.kind === "device") return `Bearer ${targets.secrets.device(auth.sn)}`;
  const sn = /\/v1\/devices\/([^/]+)\//.exec(fuzzCase.path)?.[1] ?? "FZ";
  return auth.value
    ?.replaceAll("{EMQX}", targets.secrets.emqx)
    .replaceAll("{API}", targets.secrets.api)
    .replaceAll("{DEVICE}", targets.secrets.device(sn))
    .replaceAll("{OTHER}", targets.secrets.device(`${sn}X`));
}

async function runAll(
  cases: FuzzCase[],
  run: (c: FuzzCase) => Promise<Outcome>,
  options: FuzzOptions,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(cases.length);
  const bar = options.progress ? progressBar("fuzz", cases.length) : undefined;
  let next = 0;
  let done = 0;
  let failed = 0;
  const worker = async () => {
    for (let i = next++; i < cases.length; i = next++) {
      const outcome = await run(cases[i] as FuzzCase);
      outcomes[i] = outcome;
      done++;
      if (outcome.failures.length) failed++;
      bar?.(done, `failing ${failed}  rss ${mb(process.memoryUsage.rss())} MB`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return outcomes;
}

/**
 * Peak resident memory of this process (which runs the ingest and the API) while the fuzz runs. A full
 * garbage collection every second, so the peak is what the apps hold (a body buffered instead of streamed
 * shows at once) and not how long V8 waited to collect: without it the same seed peaked anywhere between
 * +90 and +300 MB, the heap back at ~130 MB after a forced collection each time.
 */
function trackRss() {
  const collect = exposedGc();
  collect();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const collector = setInterval(collect, 1_000);
  return {
    stop: () => {
      clearInterval(sample);
      clearInterval(collector);
    },
    result: () => ({ baselineMb: mb(baseline), peakMb: mb(peak) }),
  };
}

/** V8's full collection, exposed at run time (the npm script and vitest start Node without --expose-gc). */
function exposedGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const today = () => new Date().toISOString().slice(0, 10);

function days(first: string, last: string): string[] {
  const out = [first];
  while (out.at(-1) !== last)
    out.push(new Date(Date.parse(`${out.at(-1)}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10));
  return out;
}
