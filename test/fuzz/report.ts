import type { Outcome } from "./judge.ts";
import { isQuarantined } from "./verify.ts";

export interface FamilyRow {
  family: string;
  inputs: number;
  ok2xx: number;
  rejected4xx: number;
  failed5xx: number;
  noAnswer: number;
  namedField: number;
  mustQuarantine: number;
  quarantined: number;
  failing: number;
}

export interface FuzzReport {
  seed: number;
  seconds: number;
  rss: { baselineMb: number; peakMb: number };
  rows: FamilyRow[];
  total: FamilyRow;
  /** Punches stored in the table that never reached the events queue. */
  notFannedOut: string[];
  /** Failure kinds with a count and the first examples, for the report. */
  failures: Array<{ kind: string; count: number; examples: string[] }>;
}

export function summarize(
  outcomes: Outcome[],
  extra: Omit<FuzzReport, "rows" | "total" | "failures">,
): FuzzReport {
  const byFamily = new Map<string, FamilyRow>();
  const total = emptyRow("TOTAL");
  for (const outcome of outcomes) {
    const family = outcome.case.family;
    const row = byFamily.get(family) ?? emptyRow(family);
    byFamily.set(family, row);
    for (const r of [row, total]) count(r, outcome);
  }
  const rows = [...byFamily.values()].sort((a, b) => a.family.localeCompare(b.family));
  return { ...extra, rows, total, failures: groupFailures(outcomes) };
}

const emptyRow = (family: string): FamilyRow => ({
  family,
  inputs: 0,
  ok2xx: 0,
  rejected4xx: 0,
  failed5xx: 0,
  noAnswer: 0,
  namedField: 0,
  mustQuarantine: 0,
  quarantined: 0,
  failing: 0,
});

function count(row: FamilyRow, outcome: Outcome): void {
  row.inputs++;
  if (outcome.status === 0) row.noAnswer++;
  else if (outcome.status < 300) row.ok2xx++;
  else if (outcome.status < 500) row.rejected4xx++;
  else row.failed5xx++;
  if (outcome.namedField) row.namedField++;
  if (outcome.mustQuarantine) row.mustQuarantine++;
  if (isQuarantined(outcome)) row.quarantined++;
  if (outcome.failures.length) row.failing++;
}

/** Failures grouped by kind: the text up to its first digit or colon, e.g. "answered 503", "accepted bad input". */
function groupFailures(outcomes: Outcome[]) {
  const groups = new Map<string, { kind: string; count: number; examples: string[] }>();
  for (const outcome of outcomes) {
    for (const failure of outcome.failures) {
      const kind = `${outcome.case.family}: ${failure.split(":")[0]}`;
      const group = groups.get(kind) ?? { kind, count: 0, examples: [] };
      groups.set(kind, group);
      group.count++;
      if (group.examples.length < 3) group.examples.push(describe(outcome, failure));
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

function describe(outcome: Outcome, failure: string): string {
  const c = outcome.case;
  const body = c.streamBytes ? `<${c.streamBytes} bytes streamed>` : (c.body ?? "");
  return `${c.method} ${c.path.slice(0, 120)} body=${JSON.stringify(body.slice(0, 160))} -> ${failure.slice(0, 240)}`;
}

/** The table printed at the end of a run, then the failures and the verdict. */
export function formatReport(report: FuzzReport): string {
  const head = [
    "family",
    "inputs",
    "2xx",
    "4xx",
    "5xx",
    "no answer",
    "named field",
    "quarantined",
    "failing",
  ];
  const cells = (r: FamilyRow) =>
    [
      r.family,
      r.inputs,
      r.ok2xx,
      r.rejected4xx,
      r.failed5xx,
      r.noAnswer,
      r.namedField,
      `${r.quarantined}/${r.mustQuarantine}`,
      r.failing,
    ].map(String);
  const table = [head, ...report.rows.map(cells), cells(report.total)];
  const widths = head.map((_, i) => Math.max(...table.map((row) => (row[i] as string).length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(" | ")} |`;
  const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  const lines = [
    rule,
    line(head),
    rule,
    ...table.slice(1, -1).map(line),
    rule,
    line(table.at(-1) as string[]),
    rule,
  ];
  lines.push(
    `seed ${report.seed}, ${report.seconds.toFixed(1)} s, ${(report.total.inputs / Math.max(report.seconds, 0.001)).toFixed(0)} inputs/s`,
    `RSS: ${report.rss.baselineMb} MB before, ${report.rss.peakMb} MB peak (+${report.rss.peakMb - report.rss.baselineMb} MB)`,
    `stored but not fanned out: ${report.notFannedOut.length}`,
  );
  for (const group of report.failures)
    lines.push(`FAIL ${group.count} × ${group.kind}`, ...group.examples.map((e) => `    ${e}`));
  return lines.join("\n");
}
