import * as v from "valibot";

/**
 * What DynamoDB stores, from its Developer Guide ("Constraints in Amazon DynamoDB" and "Supported data
 * types and naming rules"). Checked before any write so that a value DynamoDB would refuse is a 4xx naming
 * the field, never a store error after other records of the same message were written.
 */
export const DYNAMODB_LIMITS = {
  /** Maps and lists nest at most 32 levels deep; the item itself is the first level. */
  maxNestingLevels: 32,
  /** Attribute names: at least 1 character, under 64 KB of UTF-8. */
  maxAttributeNameBytes: 65_535,
  /** An item, attribute names and values together (binary units: 1 KB = 1024 bytes). */
  maxItemBytes: 400 * 1024,
  /** Numbers: 38 significant digits; magnitude 1E-130 to 9.9999999999999999999999999999999999999E+125, or 0. */
  maxNumberDigits: 38,
  minNumberMagnitude: 1e-130,
  /** Exclusive: the documented maximum has 38 nines, which a double rounds up to exactly 1E+126. */
  numberMagnitudeBelow: 1e126,
} as const;

/**
 * The AWS SDK's own limit is lower than DynamoDB's: `marshall` refuses numbers beyond ±2^53 and `unmarshall`
 * would read them back as BigInt, which JSON cannot carry. A JSON number that large has lost digits anyway.
 */
export const MAX_STORABLE_NUMBER = Number.MAX_SAFE_INTEGER;

export const STORABLE_NUMBER_MESSAGE =
  "numbers must be 0 or between 1E-130 and 9007199254740991 in magnitude (send others as strings)";

/** An offending spot in a value: its path below the value checked, and why. */
export interface StorableIssue {
  path: Array<string | number>;
  message: string;
}

export interface StorableOptions {
  /** Nesting levels the stored item puts above the value (1: the value is a top-level attribute). */
  levelsAbove: number;
  /** Bytes the rest of the item already takes, counted against {@link DYNAMODB_LIMITS.maxItemBytes}. */
  itemBytesAbove?: number;
}

/** Options for a value stored as a top-level attribute of an item (a command's `data`, its `result`). */
export const TOP_LEVEL_ATTRIBUTE: StorableOptions = { levelsAbove: 1 };

/** A lone surrogate cannot be encoded as UTF-8, which is what DynamoDB (and SQS, and consumers) store. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ILL_FORMED_MESSAGE = "is not valid UTF-16 text (it holds a lone surrogate)";

export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** `text` with each lone surrogate replaced by U+FFFD, as UTF-8 encoders do: safe to store and to show. */
export function toWellFormedText(text: string): string {
  return text.replace(new RegExp(LONE_SURROGATE.source, "g"), "\uFFFD");
}

export function isStorableNumber(value: number): boolean {
  if (!Number.isFinite(value)) return false;
  const magnitude = Math.abs(value);
  if (magnitude === 0) return true;
  if (magnitude < DYNAMODB_LIMITS.minNumberMagnitude) return false;
  if (magnitude >= DYNAMODB_LIMITS.numberMagnitudeBelow || magnitude > MAX_STORABLE_NUMBER) return false;
  return significantDigits(value) <= DYNAMODB_LIMITS.maxNumberDigits;
}

/** Digits of the shortest decimal that reads back as `value` (what the SDK sends), without leading or trailing zeros. */
function significantDigits(value: number): number {
  const mantissa = String(Math.abs(value)).split("e")[0] ?? "";
  return mantissa.replace(".", "").replace(/^0+/, "").replace(/0+$/, "").length || 1;
}

/**
 * The first reason DynamoDB would refuse `value` as (part of) an item, or `undefined` if it can store it.
 * Recursion stops at the nesting limit, so a value nested thousands deep costs no more than one at the limit.
 */
export function findUnstorable(value: unknown, options: StorableOptions): StorableIssue | undefined {
  const budget = { bytes: DYNAMODB_LIMITS.maxItemBytes - (options.itemBytesAbove ?? 0) };
  const issue = visit(value, options.levelsAbove, [], budget);
  if (issue) return issue;
  if (budget.bytes < 0) return { path: [], message: "is too large: DynamoDB stores items of at most 400 KB" };
  return undefined;
}

function visit(
  value: unknown,
  level: number,
  path: Array<string | number>,
  budget: { bytes: number },
): StorableIssue | undefined {
  if (typeof value === "string") return visitString(value, path, budget);
  if (typeof value === "number") return visitNumber(value, path, budget);
  if (value === null || typeof value === "boolean") {
    budget.bytes -= 1;
    return undefined;
  }
  if (typeof value !== "object") return { path, message: `a ${typeof value} cannot be stored` };
  if (level >= DYNAMODB_LIMITS.maxNestingLevels) {
    return {
      path,
      message: `is nested too deep: DynamoDB stores at most ${DYNAMODB_LIMITS.maxNestingLevels} levels`,
    };
  }
  budget.bytes -= 3;
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value as Record<string, unknown>);
  for (const [key, item] of entries) {
    const issue = Array.isArray(value) ? undefined : checkName(String(key), path, budget);
    if (issue) return issue;
    budget.bytes -= 1;
    const nested = visit(item, level + 1, [...path, key], budget);
    if (nested) return nested;
    if (budget.bytes < 0) return undefined;
  }
  return undefined;
}

function visitString(value: string, path: Array<string | number>, budget: { bytes: number }) {
  if (!isWellFormedText(value)) return { path, message: ILL_FORMED_MESSAGE };
  budget.bytes -= Buffer.byteLength(value);
  return undefined;
}

function visitNumber(value: number, path: Array<string | number>, budget: { bytes: number }) {
  if (!isStorableNumber(value)) return { path, message: STORABLE_NUMBER_MESSAGE };
  // DynamoDB: about one byte per two significant digits, plus one.
  budget.bytes -= 21;
  return undefined;
}

function checkName(name: string, path: Array<string | number>, budget: { bytes: number }) {
  // An empty key has no name to show: the field is the map that holds it (`data`, not `data.`).
  if (name.length === 0) return { path, message: "attribute names must not be empty" };
  if (!isWellFormedText(name))
    return { path: [...path, toWellFormedText(name)], message: ILL_FORMED_MESSAGE };
  const bytes = Buffer.byteLength(name);
  if (bytes > DYNAMODB_LIMITS.maxAttributeNameBytes) {
    return {
      path: [...path, `${name.slice(0, 16)}…`],
      message: "attribute names must be at most 65535 bytes",
    };
  }
  budget.bytes -= bytes;
  return undefined;
}

/**
 * A valibot action: the value can be stored by DynamoDB, `levelsAbove` levels below the item's top.
 * The issue's path points at the offending key or element, so the answer names the field.
 *
 * @example
 * v.pipe(v.unknown(), storable({ levelsAbove: 2 })) // a field of a map attribute, e.g. `extra.note`
 */
export function storable<T>(options: StorableOptions) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const issue = findUnstorable(dataset.value, options);
    if (!issue) return;
    const path = toIssuePath(dataset.value, issue.path);
    addIssue({ message: issue.message, ...(path ? { path } : {}) });
  });
}

/** valibot's path items for `keys` below `root`, so `getDotPath` names the field (`extra.a.0`). */
function toIssuePath(root: unknown, keys: Array<string | number>) {
  const items: v.IssuePathItem[] = [];
  let input = root;
  for (const key of keys) {
    const container = input as Record<string | number, unknown>;
    const value = container?.[key];
    items.push(
      Array.isArray(container)
        ? { type: "array", origin: "value", input: container, key: key as number, value }
        : {
            type: "object",
            origin: "value",
            input: container as Record<string, unknown>,
            key: String(key),
            value,
          },
    );
    input = value;
  }
  return items.length ? (items as [v.IssuePathItem, ...v.IssuePathItem[]]) : undefined;
}

/** The path to the first string or key in `value` holding a lone surrogate; `undefined` when there is none. */
export function findIllFormedText(
  value: unknown,
  path: Array<string | number> = [],
): Array<string | number> | undefined {
  if (typeof value === "string") return isWellFormedText(value) ? undefined : path;
  if (value === null || typeof value !== "object") return undefined;
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value as Record<string, unknown>);
  for (const [key, item] of entries) {
    if (typeof key === "string" && !isWellFormedText(key)) return [...path, toWellFormedText(key)];
    const found = findIllFormedText(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/** A valibot action: no string or key of the (JSON, depth-limited) value holds a lone surrogate. */
export function wellFormedText<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const found = findIllFormedText(dataset.value);
    if (!found) return;
    const path = toIssuePath(dataset.value, found);
    addIssue({ message: ILL_FORMED_MESSAGE, ...(path ? { path } : {}) });
  });
}

/** A JSON value DynamoDB can store as a top-level attribute of an item. */
export const StorableJson = v.pipe(v.unknown(), storable<unknown>({ levelsAbove: 1 }));
