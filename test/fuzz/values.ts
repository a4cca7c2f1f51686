import fc from "fast-check";

/**
 * Odd values for the fuzz suites, one arbitrary per kind of trouble the issue names. Each yields plain
 * JavaScript values; `JSON.stringify` keeps a lone surrogate as `\ud800`, so `JSON.parse` on the other side
 * gets it back as a lone surrogate, as a device that sends broken UTF-16 would produce.
 */

/** Numbers no JSON consumer and no DynamoDB attribute can hold exactly. */
export const hugeNumber = fc.oneof(
  fc.constantFrom(
    1e300,
    -1e300,
    1e20,
    -1e20,
    2 ** 53 + 2,
    -(2 ** 60),
    Number.MAX_VALUE,
    1e126,
    -9.9e125 * 10,
  ),
  fc.double({ min: 1e16, max: 1e308, noNaN: true }),
);

/** Below DynamoDB's smallest positive number (1E-130). */
export const tinyNumber = fc.oneof(
  fc.constantFrom(1e-200, -1e-200, 5e-324, 1e-131, -1e-300),
  fc.double({ min: 5e-324, max: 1e-131, noNaN: true }),
);

/** More than DynamoDB's 38 significant digits cannot be written as a JS number; these stay in range. */
export const badNumber = fc.oneof(hugeNumber, tinyNumber);

/** Strings DynamoDB, SQS or a key would choke on: lone surrogates, non-characters, controls. */
export const oddString = fc.oneof(
  fc.constantFrom(
    "u\uD800",
    "\uDFFF",
    "a\uD83D",
    "\uDC00b",
    "x\uFFFE",
    "\uFFFF",
    "\u0000",
    "\u0001\u0002",
    "\u202Eevil",
    "\uFEFF",
  ),
  fc.string({ unit: "binary", minLength: 1, maxLength: 8 }),
);

/** Map keys DynamoDB refuses: empty, longer than 64 KiB, broken UTF-16. */
export const badKey = fc.oneof(
  fc.constant(""),
  fc.integer({ min: 65_536, max: 70_000 }).map((n) => "k".repeat(n)),
  fc.constantFrom("\uD800", "k\uDBFF"),
);

/** An object nested `depth` levels (DynamoDB allows 32 in an item; the stored item adds one). */
export const nested = (depth: number, leaf: unknown = 1): unknown => {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { n: value };
  return value;
};

/** JSON text nested `depth` levels, built as text: `JSON.stringify` itself overflows far below 5,000. */
export const nestedJsonText = (depth: number) => `${'{"n":'.repeat(depth)}1${"}".repeat(depth)}`;

/** Not JSON, or JSON of the wrong shape for a body that must be an object. */
export const oddJsonText = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "1",
    '"x"',
    "null",
    "true",
    "[]",
    "[1,2]",
    "{",
    '{"a":}',
    "{'a':1}",
    '{"a":1,}',
    "NaN",
    "Infinity",
    "\uFEFF{}",
    '{"a":1}{"b":2}',
    "1e999",
    '{"a":"\\ud800"',
    "\u0000",
  ),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: 1_000, max: 6_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
);

/** Timestamps that are not a real calendar time, or carry an offset no zone has. */
export const badAttTime = fc.oneof(
  fc.constantFrom(
    "",
    "now",
    "2026-02-30 10:00:00",
    "2026-13-01T00:00:00Z",
    "2026-11-22T25:00:00Z",
    "2026-11-22T23:59:60Z",
    "2026-11-22T08:00:00+99:99",
    "2026-11-22T08:00:00-2400",
    "2026-11-22T08:00:00+24:00",
    "2026-11-22T08:00:00+05:60",
    "+275760-09-13T00:00:00Z",
    "0000-00-00 00:00:00",
    "2026-11-22T08:00:00.1234567891Z",
    "2026-11-22",
    "22/11/2026 08:00",
  ),
  fc.string({ maxLength: 30 }).filter((s) => !/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}/.test(s)),
  fc.oneof(fc.integer(), fc.constant(null), fc.constant(true), fc.constant({}), fc.constant([])),
);

/** Milliseconds EMQX could never send. */
export const badMillis = fc.oneof(
  fc.constantFrom(1e300, -1e20, 1e20, -1e300, 8.64e15 + 1),
  fc.constantFrom("now", "1732000000000", null, true, {}, []),
);

/** Serial numbers the topic and keys cannot take. */
export const badSerial = fc.oneof(
  fc.constantFrom(
    "a+b",
    "a#b",
    "a b",
    "a/b",
    "ü",
    "sn\u0000",
    "x".repeat(65),
    "SN1?x=1",
    "%",
    "\uFFFE",
    "a.b",
  ),
  fc
    .string({ minLength: 1, maxLength: 10 })
    .filter((s) => !/^[A-Za-z0-9_-]{1,64}$/.test(s) && !/^\.+$/.test(s)),
);

/** Any JSON value of the wrong type for a field that wants `kind`. */
export const wrongType = (kind: "string" | "number" | "boolean" | "object") =>
  fc
    .oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.string({ maxLength: 5 }),
      fc.constant([]),
      fc.constant({}),
    )
    .filter((value) => typeOf(value) !== kind);

function typeOf(value: unknown): string {
  if (value === null || Array.isArray(value)) return "other";
  return typeof value;
}
