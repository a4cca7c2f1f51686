/**
 * The rule SQL subset the stand-in understands (docs/emqx.md §5): the shape of the shipped rules, nothing
 * more. Anything else is refused at start so a rule never silently behaves differently than on EMQX.
 */
import { topicFilterError, topicMatches } from "./topic.ts";
import { EVENT_TOPICS, type EventTopic, type RuleEvent } from "./types.ts";

/** What a rule listens to and which events it keeps. */
export interface CompiledSql {
  /** Message topic filters from FROM. */
  topicFilters: string[];
  /** `$events/...` topics from FROM. */
  eventTopics: EventTopic[];
  where: (columns: Record<string, unknown>) => boolean;
}

/** The subset, as quoted in error messages. */
export const SUPPORTED_SQL =
  `SELECT * FROM "<topic filter>"[, "<topic filter>"...] [WHERE <column> =~|=|!=|<> '<string>' [and ...]], ` +
  `where a FROM topic may also be one of ${Object.keys(EVENT_TOPICS).join(", ")}`;

/** Thrown for SQL outside the subset; the message names the rule and the part it cannot handle. */
export class UnsupportedSqlError extends Error {
  constructor(ruleId: string, part: string) {
    super(`rule "${ruleId}": the stand-in supports only ${SUPPORTED_SQL}; unsupported: ${part}`);
    this.name = "UnsupportedSqlError";
  }
}

/** Parses `sql`; throws {@link UnsupportedSqlError} for anything outside the subset. */
export function compileSql(ruleId: string, sql: string): CompiledSql {
  const head = /^\s*SELECT\s+(.*?)\s+FROM\s+/is.exec(sql);
  if (!head) throw new UnsupportedSqlError(ruleId, sql.trim());
  if (head[1]?.trim() !== "*") throw new UnsupportedSqlError(ruleId, `SELECT ${head[1]}`);
  const { sources, rest } = parseFrom(ruleId, sql.slice(head[0].length));
  const whereText = /^WHERE\s+(.+?)\s*;?\s*$/is.exec(rest);
  const trailing = rest.replace(/;\s*$/, "").trim();
  if (trailing !== "" && !whereText) throw new UnsupportedSqlError(ruleId, trailing);
  const where = whereText ? parseWhere(ruleId, whereText[1] as string) : () => true;
  return { ...splitSources(ruleId, sources), where };
}

/** Whether a compiled rule selects `event`. */
export function selects(sql: CompiledSql, event: RuleEvent): boolean {
  const fromMatches =
    event.event === "message.publish"
      ? sql.topicFilters.some((filter) => topicMatches(filter, event.source))
      : sql.eventTopics.includes(event.source as EventTopic);
  return fromMatches && sql.where(event.columns);
}

function parseFrom(ruleId: string, text: string): { sources: string[]; rest: string } {
  const sources: string[] = [];
  let rest = text;
  for (;;) {
    const quoted = /^"([^"]*)"\s*/.exec(rest);
    if (!quoted) throw new UnsupportedSqlError(ruleId, `FROM ${rest.trim()} (topics must be double-quoted)`);
    sources.push(quoted[1] as string);
    rest = rest.slice(quoted[0].length);
    const comma = /^,\s*/.exec(rest);
    if (!comma) return { sources, rest };
    rest = rest.slice(comma[0].length);
  }
}

function splitSources(ruleId: string, sources: string[]): Pick<CompiledSql, "topicFilters" | "eventTopics"> {
  const topicFilters: string[] = [];
  const eventTopics: EventTopic[] = [];
  for (const source of sources) {
    if (source.startsWith("$events/")) {
      if (!(source in EVENT_TOPICS)) throw new UnsupportedSqlError(ruleId, `FROM "${source}"`);
      eventTopics.push(source as EventTopic);
      continue;
    }
    const error = topicFilterError(source);
    if (error) throw new UnsupportedSqlError(ruleId, `FROM "${source}" (${error})`);
    topicFilters.push(source);
  }
  return { topicFilters, eventTopics };
}

type Predicate = (columns: Record<string, unknown>) => boolean;

const COMPARISON = /^([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!=|<>|=)\s*'((?:[^']|'')*)'$/;

function parseWhere(ruleId: string, text: string): Predicate {
  const predicates = splitAnd(text).map((part) => parseComparison(ruleId, part));
  return (columns) => predicates.every((predicate) => predicate(columns));
}

/** Splits on `and` outside string literals, so a literal may contain the word. */
function splitAnd(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === "'") inString = !inString;
    const and = !inString && /^\s+and\s+/i.exec(text.slice(i));
    if (and) {
      parts.push(current.trim());
      current = "";
      i += and[0].length - 1;
      continue;
    }
    current += char;
  }
  parts.push(current.trim());
  return parts;
}

function parseComparison(ruleId: string, text: string): Predicate {
  const match = COMPARISON.exec(text);
  if (!match) throw new UnsupportedSqlError(ruleId, `WHERE ${text}`);
  const [, column = "", operator = "", quoted = ""] = match;
  const literal = quoted.replaceAll("''", "'");
  if (operator === "=~") {
    const error = topicFilterError(literal);
    if (error) throw new UnsupportedSqlError(ruleId, `WHERE ${text} (${error})`);
    return (columns) => topicMatches(literal, asText(columns[column]));
  }
  if (operator === "=") return (columns) => asText(columns[column]) === literal;
  return (columns) => asText(columns[column]) !== literal;
}

// EMQX compares an absent column as 'undefined' (docs/emqx.md §4.1).
function asText(value: unknown): string {
  if (value === undefined || value === null) return "undefined";
  return typeof value === "string" ? value : JSON.stringify(value);
}
