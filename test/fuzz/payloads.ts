import fc from "fast-check";
import {
  badAttTime,
  badKey,
  badNumber,
  nested,
  nestedJsonText,
  oddJsonText,
  oddString,
  tinyNumber,
  wrongType,
} from "./values.ts";

/** A device payload (the MQTT payload text) and whether the bridge must refuse it. */
export interface Payload {
  text: string;
  expect: "reject" | "any";
}

export const validRecord = (i = 0) => ({
  user_id: `u${i}`,
  att_time: new Date(Date.UTC(2026, 10, 22, 8, i % 60, Math.floor(i / 60) % 60)).toISOString(),
  att_state: i % 2,
});

type Mutation = { apply: (record: Record<string, unknown>) => void; expect: "reject" | "any" };
const reject = (apply: Mutation["apply"]): Mutation => ({ apply, expect: "reject" });
const any = (apply: Mutation["apply"]): Mutation => ({ apply, expect: "any" });
const setField = (key: string, value: unknown) => (record: Record<string, unknown>) => {
  record[key] = value;
};
const dropField = (key: string) => (record: Record<string, unknown>) => {
  delete record[key];
};

const badUserId = fc.oneof(
  fc.constantFrom(
    "",
    "a#b",
    "a b",
    "x".repeat(65),
    "u\uD800",
    "u\uD801",
    "\uDFFF",
    "a\u0001",
    -1,
    1.5,
    2 ** 60,
    1e300,
  ),
  fc.constantFrom(null, true, [], {}),
);
const badAttState = fc.constantFrom(-1, 10_000, 1.5, "abc", "12345", null, 1e300, true, {}, [], "-1", "");

/** One thing wrong (or odd) with an otherwise good punch. */
export const recordMutation: fc.Arbitrary<Mutation> = fc.oneof(
  badUserId.map((value) => reject(setField("user_id", value))),
  badAttTime.map((value) => reject(setField("att_time", value))),
  badAttState.map((value) => reject(setField("att_state", value))),
  fc.constantFrom("user_id", "att_time", "att_state").map((key) => reject(dropField(key))),
  badNumber.map((value) => reject(setField("temp", value))),
  tinyNumber.map((value) => reject(setField("extra", { deep: { x: value } }))),
  badKey.map((key) => reject(setField("extra", { [key]: 1 }))),
  fc.integer({ min: 31, max: 40 }).map((depth) => reject(setField("extra", nested(depth)))),
  oddString.map((value) => any(setField("note", value))),
  fc.constantFrom("\uFFFE", "\uFFFF", "\u{1F600}", "x\uFFFEy").map((key) => any(setField(key, key))),
  fc.integer({ min: 1, max: 20 }).map((depth) => any(setField("extra", nested(depth)))),
  fc
    .double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 })
    .map((x) => any(setField("x", x))),
);

function mutated(i: number, mutation: Mutation): Record<string, unknown> {
  const record: Record<string, unknown> = validRecord(i);
  mutation.apply(record);
  return record;
}

/** A single bad (or odd) punch. */
const singlePunch = recordMutation.map((m) => ({ text: JSON.stringify(mutated(0, m)), expect: m.expect }));

/** An offline backlog: good punches and bad ones mixed; the good ones must be stored and sent. */
const backlog = fc
  .tuple(fc.integer({ min: 0, max: 5 }), fc.array(recordMutation, { minLength: 1, maxLength: 6 }))
  .map(([good, bad]) => {
    const records = [
      ...Array.from({ length: good }, (_, i) => validRecord(i)),
      ...bad.map((m, i) => mutated(100 + i, m)),
    ];
    return {
      text: JSON.stringify(records),
      expect: bad.some((m) => m.expect === "reject") ? "reject" : "any",
    } as Payload;
  });

/** Shapes that are no punch at all, and backlogs too long or too deep to parse safely. */
const badShape: fc.Arbitrary<Payload> = fc.oneof(
  oddJsonText.map((text) => ({ text, expect: "reject" as const })),
  fc
    .constantFrom(
      JSON.stringify(Array.from({ length: 501 }, (_, i) => validRecord(i))),
      JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ ...validRecord(i), att_time: "bad" }))),
      `[${JSON.stringify(validRecord(0))},${nestedJsonText(5_000)}]`,
      `[${JSON.stringify(validRecord(0))},{"user_id":"u1","att_time":"2026-11-22T08:00:00Z","att_state":0,"x":${nestedJsonText(40)}}]`,
      "{}",
      "[{}]",
    )
    .map((text) => ({ text, expect: "reject" as const })),
);

/** Payloads for `api/mqtt/v1/{sn}/evt`. */
export const punchPayload: fc.Arbitrary<Payload> = fc.oneof(
  { arbitrary: singlePunch, weight: 5 },
  { arbitrary: backlog, weight: 3 },
  { arbitrary: badShape, weight: 2 },
);

/** Payloads for `st` (presence) that are not `{"online": true|false}`. */
export const statusPayload: fc.Arbitrary<Payload> = fc.oneof(
  wrongType("boolean").map((online) => ({ text: JSON.stringify({ online }), expect: "reject" as const })),
  oddJsonText.map((text) => ({ text, expect: "reject" as const })),
  fc.constant({ text: "{}", expect: "reject" as const }),
);

/** Payloads for `ack` (a device's answer to a command) that break its contract. */
export const ackPayload: fc.Arbitrary<Payload> = fc.oneof(
  fc.constantFrom("", "a/b", "x".repeat(65), "u\uD800", 5, null).map((id) => ({
    text: JSON.stringify({ id, ok: true }),
    expect: "reject" as const,
  })),
  wrongType("boolean").map((ok) => ({ text: JSON.stringify({ id: "c1", ok }), expect: "reject" as const })),
  badNumber.map((x) => ({
    text: JSON.stringify({ id: "c1", ok: true, result: { x } }),
    expect: "reject" as const,
  })),
  badKey.map((key) => ({
    text: JSON.stringify({ id: "c1", ok: true, result: { [key]: 1 } }),
    expect: "reject" as const,
  })),
  fc.constant({ text: `{"id":"c1","ok":true,"result":${nestedJsonText(5_000)}}`, expect: "reject" as const }),
  wrongType("string").map((error) => ({
    text: JSON.stringify({ id: "c1", ok: false, error }),
    expect: "reject" as const,
  })),
  oddJsonText.map((text) => ({ text, expect: "reject" as const })),
  oddString.map((error) => ({
    text: JSON.stringify({ id: "c1", ok: false, error }),
    expect: "any" as const,
  })),
);
