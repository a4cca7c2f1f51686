/** A tiny HOCON writer for the definitions: enough for `emqx ctl conf load`, not a general serializer. */
import type { Access } from "./access.ts";
import type { Definitions } from "./definitions.ts";

type HoconValue = string | number | boolean | Multiline | readonly HoconValue[] | HoconObject;
interface HoconObject {
  readonly [key: string]: HoconValue;
}

/** A string written in triple quotes (rule SQL, which is full of double quotes). */
class Multiline {
  constructor(readonly text: string) {
    if (text.includes('"""')) throw new Error('a triple-quoted HOCON string cannot contain """');
  }
}

const INDENT = "  ";

// Quoted keys never turn into paths (`a.b`) and quoted strings never into `${...}` substitutions,
// which is why every string is quoted even where HOCON would accept it bare.
function key(name: string): string {
  return /^[A-Za-z0-9_]+$/.test(name) ? name : JSON.stringify(name);
}

function scalar(value: Exclude<HoconValue, HoconObject>): string {
  if (value instanceof Multiline) return `"""${value.text}\n"""`; // newline: SQL ending in " must not touch """
  if (Array.isArray(value)) return `[${value.map((item) => scalar(item)).join(", ")}]`;
  return JSON.stringify(value);
}

function isObject(value: HoconValue): value is HoconObject {
  return typeof value === "object" && !Array.isArray(value) && !(value instanceof Multiline);
}

function isObjectArray(value: HoconValue): value is readonly HoconObject[] {
  return Array.isArray(value) && value.length > 0 && value.every(isObject);
}

/** `name = value`, `name { ... }` or `name = [ { ... }, ... ]`, indented by `depth`. */
function entry(name: string, value: HoconValue, depth: number): string[] {
  const pad = INDENT.repeat(depth);
  if (isObject(value)) return block(name, value, depth);
  if (!isObjectArray(value)) return [`${pad}${name} = ${scalar(value)}`];
  // Objects in an array are separated by the newline after each closing brace.
  return [`${pad}${name} = [`, ...value.flatMap((item) => block("", item, depth + 1)), `${pad}]`];
}

function block(path: string, object: HoconObject, depth: number): string[] {
  const pad = INDENT.repeat(depth);
  const lines = [path ? `${pad}${path} {` : `${pad}{`];
  for (const [name, value] of Object.entries(object)) lines.push(...entry(key(name), value, depth + 1));
  lines.push(`${pad}}`);
  return lines;
}

function root(path: string, object: object): string {
  return block(path, object as HoconObject, 0).join("\n");
}

/**
 * HOCON for `emqx ctl conf load` (or `PUT /api/v5/configs`): roots `connectors.http.<name>`,
 * `actions.http.<name>` and `rule_engine.rules.<id>`, where the path carries type, name and id.
 */
export function toHocon(definitions: Definitions): string {
  const connectors = definitions.connectors.map(({ type, name, ...rest }) =>
    root(`connectors.${type}.${name}`, rest),
  );
  const actions = definitions.actions.map(({ type, name, ...rest }) => root(`actions.${type}.${name}`, rest));
  const rules = definitions.rules.map(({ id, sql, ...rest }) =>
    root(`rule_engine.rules.${id}`, { sql: new Multiline(sql), ...rest }),
  );
  return `${[...connectors, ...actions, ...rules].join("\n\n")}\n`;
}

/**
 * HOCON roots `authentication` (an array: the bridge's authenticator alone) and `authorization`
 * (settings and sources), for `emqx ctl conf load`. Merge mode appends a new authenticator or source
 * type after the existing ones; `--replace` makes the file the whole chain and the whole authorization.
 */
export function toAccessHocon(access: Access): string {
  const authentication = entry("authentication", [access.authenticator as object as HoconObject], 0);
  const authorization = root("authorization", access.authorization);
  return `${authentication.join("\n")}\n\n${authorization}\n`;
}
