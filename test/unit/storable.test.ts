import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { asciiJson } from "../../functions/core/ascii-json.ts";
import {
  findUnstorable,
  isStorableNumber,
  StorableJson,
  TOP_LEVEL_ATTRIBUTE,
} from "../../functions/core/schemas/storable.ts";
import { jsonDepth, MAX_JSON_DEPTH, parseJson } from "../../functions/core/validation.ts";

const nested = (levels: number): unknown => (levels === 0 ? 1 : { a: nested(levels - 1) });
const fieldOf = (value: unknown) => {
  const result = v.safeParse(StorableJson, value);
  return result.success ? undefined : (v.getDotPath(result.issues[0]) ?? "");
};

describe("what DynamoDB stores", () => {
  it.each([0, -0, 1e-130, -1e-130, 1.5, -42, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER])(
    "stores the number %d",
    (n) => expect(isStorableNumber(n)).toBe(true),
  );

  it.each([1e-131, -1e-200, 2 ** 53 + 2, 1e126, Number.NaN, Number.POSITIVE_INFINITY])(
    "refuses the number %d",
    (n) => expect(isStorableNumber(n)).toBe(false),
  );

  it("allows 31 levels below a top-level attribute (the item is the 32nd) and no more", () => {
    expect(findUnstorable(nested(31), TOP_LEVEL_ATTRIBUTE)).toBeUndefined();
    expect(findUnstorable(nested(32), TOP_LEVEL_ATTRIBUTE)?.message).toContain("nested too deep");
  });

  it("names the offending field", () => {
    expect(fieldOf({ a: [1, { b: 1e-200 }] })).toBe("a.1.b");
    expect(fieldOf({ a: { "": 1 } })).toBe("a");
    expect(fieldOf({ a: "u\uD800" })).toBe("a");
    expect(fieldOf({ ["k".repeat(65_536)]: 1 })).toBe(`${"k".repeat(16)}…`);
    expect(fieldOf({ ["k".repeat(65_535)]: 1, ok: ["é", null, true] })).toBeUndefined();
  });

  it("counts the item's size in UTF-8 bytes, names included", () => {
    const big = "é".repeat(205 * 1024); // 410 KB in UTF-8
    expect(findUnstorable({ big }, TOP_LEVEL_ATTRIBUTE)?.message).toContain("400 KB");
    expect(findUnstorable({ big: "e".repeat(390 * 1024) }, TOP_LEVEL_ATTRIBUTE)).toBeUndefined();
  });
});

describe("asciiJson", () => {
  it("writes only printable ASCII and reads back the same value", () => {
    const value = { s: "café \uFFFE\uFFFF 😀 \u0000\u007f 中文", n: [1, -2.5] };
    const text = asciiJson(value);
    expect(text).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe("parseJson depth", () => {
  it("counts brackets outside strings only", () => {
    expect(jsonDepth('{"a":[1,{"b":"]]][[[{{{\\"["}]}')).toBe(3);
    expect(jsonDepth("1")).toBe(0);
  });

  it(`refuses text nested deeper than ${MAX_JSON_DEPTH} levels before parsing it, naming the field`, () => {
    const text = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
    expect(() => parseJson(text(MAX_JSON_DEPTH), "payload")).not.toThrow();
    expect(() => parseJson(text(100_000), "payload")).toThrow(/payload is nested deeper than/);
  });
});
