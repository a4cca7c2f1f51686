/**
 * EMQX's authorization rules, as the stand-in checks them: the ACL that rides on an authentication answer
 * (JSON, `emqx_authz_rule_raw`) and the rules of a `file` source (acl.conf, see acl-file.ts), both compiled
 * to one shape and checked top-down, first match wins (docs/emqx.md §10.5, §11.3).
 */
import { topicMatches } from "./topic.ts";

export type Permission = "allow" | "deny";
export type Action = "publish" | "subscribe";

/**
 * A topic of a rule: a filter that may hold placeholders, `eq` = this exact filter (never rendered), or
 * every topic including `$` ones (acl.conf's `{allow|deny, all}.`, which `#` would not cover).
 */
export type RuleTopic = { eq: string } | { filter: string } | { any: true };

/** Who a file rule applies to; the ACL of a login answer always applies to its own client. */
export type Who =
  | { kind: "all" }
  | { kind: "clientid" | "username"; equals?: string; re?: RegExp }
  | { kind: "and" | "or"; of: Who[] };

export interface CompiledAclRule {
  permission: Permission;
  action: Action | "all";
  who: Who;
  topics: RuleTopic[];
  /** Allowed QoS; undefined: any. */
  qos?: number[];
  /** Publish only; undefined: both. */
  retain?: boolean;
}

/** What a check is about: the client (for `who` and placeholders), the action and its topic. */
export interface AccessRequest {
  clientid: string;
  username: string | undefined;
  clientAttrs: Record<string, string>;
  action: Action;
  /** A topic name for publish, a topic filter (without `$share/g/`) for subscribe. */
  topic: string;
  qos: number;
  retain: boolean;
}

/** The permission of the first rule that matches, or `undefined` (the next source decides). */
export function firstMatch(
  rules: readonly CompiledAclRule[],
  request: AccessRequest,
): Permission | undefined {
  return rules.find((rule) => ruleMatches(rule, request))?.permission;
}

function ruleMatches(rule: CompiledAclRule, request: AccessRequest): boolean {
  if (rule.action !== "all" && rule.action !== request.action) return false;
  if (rule.qos && !rule.qos.includes(request.qos)) return false;
  if (request.action === "publish" && rule.retain !== undefined && rule.retain !== request.retain)
    return false;
  if (!whoMatches(rule.who, request)) return false;
  return rule.topics.some((topic) => topicOfRuleMatches(topic, request));
}

function whoMatches(who: Who, request: AccessRequest): boolean {
  switch (who.kind) {
    case "all":
      return true;
    case "and":
      return who.of.every((part) => whoMatches(part, request));
    case "or":
      return who.of.some((part) => whoMatches(part, request));
    default: {
      const value = who.kind === "clientid" ? request.clientid : request.username;
      if (value === undefined) return false;
      return who.equals !== undefined ? value === who.equals : (who.re?.test(value) ?? false);
    }
  }
}

function topicOfRuleMatches(topic: RuleTopic, request: AccessRequest): boolean {
  if ("any" in topic) return true;
  if ("eq" in topic) return topic.eq === request.topic;
  const rendered = renderTopic(topic.filter, request);
  if (rendered === undefined) return false;
  return request.action === "publish"
    ? topicMatches(rendered, request.topic)
    : filterCovers(rendered, request.topic);
}

/**
 * Placeholders are put in raw, as EMQX does (a `+` in a client id widens the rule: the reason the bridge
 * writes literal serial numbers); an undefined value makes the rule not match (`render_strict`).
 */
function renderTopic(filter: string, request: AccessRequest): string | undefined {
  let missing = false;
  const rendered = filter.replace(/\$\{([a-z_]+(?:\.[A-Za-z0-9_-]+)?)\}/g, (text, name: string) => {
    const value = placeholderValue(name, request);
    if (value === undefined) missing = true;
    return value ?? text;
  });
  return missing ? undefined : rendered;
}

function placeholderValue(name: string, request: AccessRequest): string | undefined {
  if (name === "clientid") return request.clientid;
  if (name === "username") return request.username;
  if (name.startsWith("client_attrs.")) return request.clientAttrs[name.slice("client_attrs.".length)];
  return undefined;
}

/**
 * Whether subscription filter `subscribed` lies within rule filter `rule` (emqx_topic:match/2 with a filter
 * as the name): a wildcard in the subscription only matches the same or a wider wildcard in the rule.
 */
export function filterCovers(rule: string, subscribed: string): boolean {
  const ruleLevels = rule.split("/");
  const subLevels = subscribed.split("/");
  if (subscribed.startsWith("$") && (ruleLevels[0] === "+" || ruleLevels[0] === "#")) return false;
  for (const [index, level] of ruleLevels.entries()) {
    if (level === "#") return true;
    const sub = subLevels[index];
    if (sub === undefined || sub === "#") return false;
    if (level !== "+" && level !== sub) return false;
  }
  return ruleLevels.length === subLevels.length;
}

/** Thrown for an ACL EMQX would refuse; the login then fails with "bad username or password". */
export class InvalidAclError extends Error {}

const ACTIONS: Record<string, Action | "all"> = {
  publish: "publish",
  pub: "publish",
  subscribe: "subscribe",
  sub: "subscribe",
  all: "all",
};

/** Compiles the `acl` array of an authentication answer (emqx_authz_rule_raw:parse_and_compile_rules/1). */
export function compileAnswerAcl(acl: unknown): CompiledAclRule[] {
  if (!Array.isArray(acl)) throw new InvalidAclError("acl must be an array");
  return acl.map((rule, index) => compileAnswerRule(rule, index));
}

function compileAnswerRule(rule: unknown, index: number): CompiledAclRule {
  const fail = (why: string) => new InvalidAclError(`acl[${index}]: ${why}`);
  if (typeof rule !== "object" || rule === null || Array.isArray(rule)) throw fail("not an object");
  const raw = rule as Record<string, unknown>;
  if (raw.permission !== "allow" && raw.permission !== "deny") throw fail("permission");
  const action = typeof raw.action === "string" ? ACTIONS[raw.action] : undefined;
  if (!action) throw fail("action");
  const topics = raw.topics ?? (raw.topic === undefined ? undefined : [raw.topic]);
  if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => typeof t === "string"))
    throw fail("topic or topics");
  const compiled: CompiledAclRule = {
    permission: raw.permission,
    action,
    who: { kind: "all" },
    topics: (topics as string[]).map(ruleTopic),
  };
  const qos = raw.qos === undefined ? undefined : qosList(raw.qos);
  if (qos === null) throw fail("qos");
  if (qos) compiled.qos = qos;
  const retain = raw.retain === undefined ? "all" : retainFlag(raw.retain);
  if (retain === null) throw fail("retain");
  if (retain !== "all") compiled.retain = retain;
  return compiled;
}

/** `"eq t/#"` is the exact filter `t/#`; anything else a filter that may hold placeholders. */
export function ruleTopic(text: string): RuleTopic {
  return text.startsWith("eq ") ? { eq: text.slice(3) } : { filter: text };
}

function qosList(value: unknown): number[] | null {
  const list = typeof value === "string" ? value.split(",").map((q) => Number(q.trim())) : value;
  const items = Array.isArray(list) ? list : [list];
  return items.every((q) => q === 0 || q === 1 || q === 2) ? (items as number[]) : null;
}

function retainFlag(value: unknown): boolean | "all" | null {
  if (value === true || value === 1 || value === "true" || value === "1") return true;
  if (value === false || value === 0 || value === "false" || value === "0") return false;
  return value === "all" ? "all" : null;
}
