import { describe, expect, it } from "vitest";
import { TokenSet } from "../../functions/http/token-set.ts";

describe("TokenSet", () => {
  const tokens = new TokenSet(["first-token-0123456789", "second-token-0123456789"]);

  it("accepts every token of the set, so two are valid while one is rotated", () => {
    expect(tokens.has("first-token-0123456789")).toBe(true);
    expect(tokens.has("second-token-0123456789")).toBe(true);
  });

  it("refuses a prefix, an extension, another case and the empty string", () => {
    for (const guess of ["first-token-012345678", "first-token-0123456789x", "FIRST-TOKEN-0123456789", ""]) {
      expect(tokens.has(guess), guess).toBe(false);
    }
  });

  it("cannot be made empty", () => {
    expect(() => new TokenSet([])).toThrow(/at least one token/);
  });
});
