import type { FuzzCase } from "./cases.ts";
import type { Answer } from "./send.ts";

/** What became of one input, and every way its answer broke the suite's rules. */
export interface Outcome {
  case: FuzzCase;
  status: number;
  /** A non-empty `field` in the problem. */
  namedField: boolean;
  /** Quarantine ids the answer gave (one per rejected record of a backlog). */
  quarantineIds: string[];
  /** The rejection must be found in the quarantine. */
  mustQuarantine: boolean;
  failures: string[];
}

/** 4xx answers that are about who is asking or what exists, not about a field of the input. */
const NO_FIELD_STATUSES = new Set([401, 403, 404]);

/**
 * The rules: no 5xx at all (nothing is down during the fuzz, so a 503 is the bridge failing on input),
 * no 2xx for bad input, every 4xx a problem+json document, every 4xx about the input naming its field,
 * every 401 with a challenge, every rejected EMQX or device message quarantined (checked later).
 */
export function judge(fuzzCase: FuzzCase, answer: Answer | Error): Outcome {
  const outcome: Outcome = {
    case: fuzzCase,
    status: 0,
    namedField: false,
    quarantineIds: [],
    mustQuarantine: false,
    failures: [],
  };
  if (answer instanceof Error) {
    outcome.failures.push(`no answer: ${answer.message}`);
    return outcome;
  }
  outcome.status = answer.status;
  if (answer.status >= 500) outcome.failures.push(`answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  else if (answer.status < 300 && fuzzCase.expect === "reject")
    outcome.failures.push(`accepted bad input (${answer.status}): ${answer.text.slice(0, 200)}`);
  else if (answer.status >= 400) judgeProblem(outcome, answer);
  else if (answer.status >= 300) outcome.failures.push(`answered ${answer.status}`);
  return outcome;
}

function judgeProblem(outcome: Outcome, answer: Answer): void {
  const type = String(answer.headers["content-type"] ?? "");
  const problem = parse(answer.text);
  if (!type.startsWith("application/problem+json") || problem?.status !== answer.status) {
    outcome.failures.push(`${answer.status} is not problem+json (${type}): ${answer.text.slice(0, 200)}`);
    return;
  }
  outcome.namedField = typeof problem.field === "string" && problem.field.length > 0;
  if (!outcome.namedField && !NO_FIELD_STATUSES.has(answer.status))
    outcome.failures.push(`${answer.status} names no field: ${answer.text.slice(0, 200)}`);
  if (answer.status === 401 && !answer.headers["www-authenticate"])
    outcome.failures.push("401 without WWW-Authenticate");
  outcome.mustQuarantine = outcome.case.quarantined && !NO_FIELD_STATUSES.has(answer.status);
  outcome.quarantineIds = quarantineIds(problem);
}

function quarantineIds(problem: Record<string, unknown>): string[] {
  const ids = new Set<string>();
  if (typeof problem.quarantineId === "string") ids.add(problem.quarantineId);
  for (const record of Array.isArray(problem.rejected) ? problem.rejected : []) {
    const id = (record as { quarantineId?: unknown })?.quarantineId;
    if (typeof id === "string") ids.add(id);
  }
  return [...ids];
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
