import type { SeqRange } from "./types.ts";

/** The numbers of `ranges` that are not in `seen`, as ranges again. */
export function withoutSeen(ranges: SeqRange[], seen: ReadonlySet<number>): SeqRange[] {
  const left: SeqRange[] = [];
  for (const [from, to] of ranges) {
    let start: number | undefined;
    for (let n = from; n <= to; n++) {
      if (!seen.has(n)) start ??= n;
      else if (start !== undefined) {
        left.push([start, n - 1]);
        start = undefined;
      }
    }
    if (start !== undefined) left.push([start, to]);
  }
  return left;
}

export function countOf(ranges: SeqRange[]): number {
  return ranges.reduce((sum, [from, to]) => sum + to - from + 1, 0);
}

export function contains(ranges: SeqRange[], n: number): boolean {
  return ranges.some(([from, to]) => n >= from && n <= to);
}

/** `[from, to]` cut into pieces of at most `size` numbers. */
export function chunks([from, to]: SeqRange, size: number): SeqRange[] {
  const pieces: SeqRange[] = [];
  for (let start = from; start <= to; start += size) pieces.push([start, Math.min(to, start + size - 1)]);
  return pieces;
}
