import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** One figure of an area: what was measured, the goal it is held to, and whether it met it. */
export interface Row {
  figure: string;
  value: string;
  goal?: string;
  /** undefined: informational, no goal. */
  met?: boolean;
}

export interface Area {
  id: string;
  title: string;
  rows: Row[];
  notes?: string[];
  /** Correctness failures (a lost or doubled punch, a wrong request count): these fail the run. */
  failures?: string[];
  /** Raw figures other tools read (`npm run cost` takes the request counts and CPU times). */
  data?: Record<string, unknown>;
}

export interface Results {
  startedAt: string;
  seconds: number;
  machine: { node: string; cpus: number; platform: string; loadAverage: number[] };
  areas: Area[];
}

/** A markdown table (what README's Performance section shows). */
export function formatArea(area: Area): string {
  const lines = [`## ${area.title}`, "", "| figure | measured | goal | met |", "|---|---|---|---|"];
  for (const row of area.rows) {
    const met = row.met === undefined ? "" : row.met ? "met" : "**missed**";
    lines.push(`| ${row.figure} | ${row.value} | ${row.goal ?? ""} | ${met} |`);
  }
  for (const note of area.notes ?? []) lines.push("", note);
  for (const failure of area.failures ?? []) lines.push("", `**FAILED:** ${failure}`);
  return lines.join("\n");
}

/** Written as the project's formatter lays JSON out, so the committed run of record passes `npm run lint`. */
export function writeResults(file: string, results: Results): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  try {
    execFileSync("npx", ["biome", "format", "--write", file], { stdio: "ignore" });
  } catch {
    // Unformatted JSON is still the same results.
  }
}

/** `1.07×`: ratios are what the goals hold, never absolute times. */
export const times = (ratio: number) => `${ratio.toFixed(2)}×`;
export const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
