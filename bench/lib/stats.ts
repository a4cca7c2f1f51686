import { performance } from "node:perf_hooks";

export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** The middle value; for an even count, the mean of the two middle ones (not the lower, as p50 gives). */
export function median(samples: number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[half] as number)
    : ((sorted[half - 1] as number) + (sorted[half] as number)) / 2;
}

export interface Paired {
  a: number[];
  b: number[];
  /** CPU time of this process (µs, user + system) during each call: the handler's and the SDK's work. */
  cpuA: number[];
  cpuB: number[];
}

/**
 * Runs `a` and `b` alternately (A B, then B A, ...) so that whatever else the machine does lands on
 * both alike; returns each one's durations in milliseconds. `warmup` pairs are run and dropped.
 */
export async function interleaved(
  a: (i: number) => Promise<unknown>,
  b: (i: number) => Promise<unknown>,
  count: number,
  options: { warmup?: number; onProgress?: (done: number) => void } = {},
): Promise<Paired> {
  const out: Paired = { a: [], b: [], cpuA: [], cpuB: [] };
  const timed = async (fn: (i: number) => Promise<unknown>, i: number) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await fn(i);
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { ms, cpu: used.user + used.system };
  };
  const warmup = options.warmup ?? 0;
  for (let i = 0; i < warmup + count; i++) {
    const first = i % 2 === 0;
    const x = await timed(first ? a : b, i);
    const y = await timed(first ? b : a, i);
    if (i < warmup) continue;
    const [ofA, ofB] = first ? [x, y] : [y, x];
    out.a.push(ofA.ms);
    out.b.push(ofB.ms);
    out.cpuA.push(ofA.cpu);
    out.cpuB.push(ofB.cpu);
    options.onProgress?.(i - warmup + 1);
  }
  return out;
}

export const mean = (samples: number[]) =>
  samples.reduce((sum, x) => sum + x, 0) / Math.max(samples.length, 1);
