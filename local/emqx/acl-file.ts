/**
 * The rules of a `file` authorization source (acl.conf, Erlang terms) for the stand-in: the forms
 * emqx-rules/access-acl.ts writes (`{P, all}.` and `{P, Who, Action, [Topics]}.` with `all`, `{clientid|
 * username, "x" | {re, "x"}}`, `{'and'|'or', [...]}` and `{eq, "t"}`). Anything else fails at start, so
 * the stand-in never runs with a rule it did not understand.
 */
import type { CompiledAclRule, Permission, RuleTopic, Who } from "./acl.ts";

type Term = string | { atom: string } | Term[] | { tuple: Term[] };

/** Parses the whole file into rules, in order. */
export function parseAclFile(text: string): CompiledAclRule[] {
  const parser = new TermParser(text);
  const rules: CompiledAclRule[] = [];
  for (let term = parser.next(); term !== undefined; term = parser.next()) rules.push(toRule(term));
  return rules;
}

function toRule(term: Term): CompiledAclRule {
  const parts = tupleOf(term);
  const permission = atomOf(parts[0]);
  if (permission !== "allow" && permission !== "deny") throw unsupported(term);
  if (parts.length === 2 && atomOf(parts[1]) === "all") {
    return { permission, action: "all", who: { kind: "all" }, topics: [{ any: true }] };
  }
  if (parts.length !== 4) throw unsupported(term);
  return {
    permission: permission as Permission,
    who: toWho(parts[1] as Term),
    action: toAction(parts[2] as Term),
    topics: listOf(parts[3] as Term).map(toTopic),
  };
}

function toWho(term: Term): Who {
  if (atomOf(term) === "all") return { kind: "all" };
  const [tag, value] = tupleOf(term);
  const kind = { user: "username", username: "username", client: "clientid", clientid: "clientid" }[
    atomOf(tag) ?? ""
  ] as "username" | "clientid" | undefined;
  if (kind && typeof value === "string") return { kind, equals: value };
  if (kind) {
    const [re, pattern] = tupleOf(value as Term);
    if (atomOf(re) === "re" && typeof pattern === "string") return { kind, re: new RegExp(pattern) };
  }
  const joined = atomOf(tag);
  if (joined === "and" || joined === "or") return { kind: joined, of: listOf(value as Term).map(toWho) };
  throw unsupported(term);
}

function toAction(term: Term): CompiledAclRule["action"] {
  const action = atomOf(term);
  if (action === "publish" || action === "subscribe" || action === "all") return action;
  throw unsupported(term);
}

function toTopic(term: Term): RuleTopic {
  if (typeof term === "string") return { filter: term };
  const [tag, value] = tupleOf(term);
  if (atomOf(tag) === "eq" && typeof value === "string") return { eq: value };
  throw unsupported(term);
}

const atomOf = (term: Term | undefined) =>
  term && typeof term === "object" && "atom" in term ? term.atom : undefined;

function tupleOf(term: Term): Term[] {
  if (typeof term === "object" && "tuple" in term) return term.tuple;
  throw unsupported(term);
}

function listOf(term: Term): Term[] {
  if (Array.isArray(term)) return term;
  throw unsupported(term);
}

function unsupported(term: Term): Error {
  return new Error(`EMQX stand-in: acl rule not supported: ${JSON.stringify(term)}`);
}

/** A tiny reader for the Erlang terms acl.conf uses: atoms, 'quoted atoms', "strings", tuples, lists. */
class TermParser {
  #at = 0;
  constructor(private readonly text: string) {}

  /** The next `Term.`, or `undefined` at the end of the text. */
  next(): Term | undefined {
    this.#skip();
    if (this.#at >= this.text.length) return undefined;
    const term = this.#term();
    this.#expect(".");
    return term;
  }

  #term(): Term {
    this.#skip();
    const char = this.text[this.#at];
    if (char === "{") return { tuple: this.#sequence("{", "}") };
    if (char === "[") return this.#sequence("[", "]");
    if (char === '"') return this.#quoted('"');
    if (char === "'") return { atom: this.#quoted("'") };
    const atom = /^[a-z][A-Za-z0-9_@]*/.exec(this.text.slice(this.#at))?.[0];
    if (!atom) throw new Error(`EMQX stand-in: acl.conf: unexpected "${char}" at ${this.#at}`);
    this.#at += atom.length;
    return { atom };
  }

  #sequence(open: string, close: string): Term[] {
    this.#expect(open);
    const items: Term[] = [];
    this.#skip();
    if (this.text[this.#at] === close) {
      this.#at++;
      return items;
    }
    for (;;) {
      items.push(this.#term());
      this.#skip();
      if (this.text[this.#at] === close) break;
      this.#expect(",");
    }
    this.#at++;
    return items;
  }

  #quoted(quote: string): string {
    this.#at++;
    let value = "";
    while (this.#at < this.text.length && this.text[this.#at] !== quote) {
      if (this.text[this.#at] === "\\") this.#at++;
      value += this.text[this.#at++];
    }
    this.#expect(quote);
    return value;
  }

  #expect(token: string): void {
    this.#skip();
    if (this.text[this.#at] !== token)
      throw new Error(`EMQX stand-in: acl.conf: expected "${token}" at ${this.#at}`);
    this.#at++;
  }

  /** Whitespace and `%` comments. */
  #skip(): void {
    const rest = /^(?:\s+|%[^\n]*)*/.exec(this.text.slice(this.#at));
    this.#at += rest?.[0].length ?? 0;
  }
}
