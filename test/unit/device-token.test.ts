import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEVICE_TOKEN_LENGTH, deriveDeviceToken, isDeviceToken } from "../../functions/core/device-token.ts";

const SECRET = "unit-secret-0123456789abcdef0123456789";
const OTHER_SECRET = "unit-secret-rotated-abcdef0123456789ab";
const serial = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);

describe("device tokens", () => {
  it("is base64url(HMAC-SHA256(secret, 'device:' + sn)), stable across calls", () => {
    const expected = createHmac("sha256", SECRET).update("device:SN0001").digest("base64url");
    expect(deriveDeviceToken(SECRET, "SN0001")).toBe(expected);
    expect(deriveDeviceToken(SECRET, "SN0001")).toBe(deriveDeviceToken(SECRET, "SN0001"));
    // A known answer, so a change of the scheme (which would lock every device out) cannot go unnoticed.
    expect(deriveDeviceToken("0123456789abcdef0123456789abcdef", "SN0001")).toBe(
      "68yV7-ruUpET3TjzHqoWA7M0Uxlg99zwDv0WNNyIQJI",
    );
  });

  it("has 43 URL-safe characters whatever the serial number", () => {
    fc.assert(
      fc.property(serial, (sn) => {
        expect(deriveDeviceToken(SECRET, sn)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }),
    );
    expect(DEVICE_TOKEN_LENGTH).toBe(43);
  });

  it("differs per serial number and per secret", () => {
    fc.assert(
      fc.property(serial, serial, (a, b) => {
        fc.pre(a !== b);
        expect(deriveDeviceToken(SECRET, a)).not.toBe(deriveDeviceToken(SECRET, b));
      }),
    );
    expect(deriveDeviceToken(SECRET, "SN0001")).not.toBe(deriveDeviceToken(OTHER_SECRET, "SN0001"));
    // Serial numbers are case-sensitive, like MQTT client ids and topics.
    expect(deriveDeviceToken(SECRET, "sn0001")).not.toBe(deriveDeviceToken(SECRET, "SN0001"));
  });

  it("refuses an empty secret", () => {
    expect(() => deriveDeviceToken("", "SN0001")).toThrow(/secret/);
  });
});

describe("checking a device token", () => {
  const token = deriveDeviceToken(SECRET, "SN0001");

  it("accepts the token of the device under any of the active secrets", () => {
    expect(isDeviceToken([SECRET], "SN0001", token)).toBe(true);
    expect(isDeviceToken([OTHER_SECRET, SECRET], "SN0001", token)).toBe(true);
    expect(isDeviceToken([SECRET, OTHER_SECRET], "SN0001", deriveDeviceToken(OTHER_SECRET, "SN0001"))).toBe(
      true,
    );
  });

  it("refuses another device's token, a removed secret's token and anything else", () => {
    expect(isDeviceToken([SECRET], "SN0002", token)).toBe(false);
    expect(isDeviceToken([OTHER_SECRET], "SN0001", token)).toBe(false);
    expect(isDeviceToken([], "SN0001", token)).toBe(false);
    for (const bad of [
      "",
      token.slice(0, 42),
      `${token}x`,
      token.toLowerCase(),
      "é".repeat(43),
      `${token}\u0000`,
    ]) {
      expect(isDeviceToken([SECRET], "SN0001", bad), bad).toBe(false);
    }
  });

  it("refuses a random guess", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 60 }), (guess) => {
        fc.pre(guess !== token);
        expect(isDeviceToken([SECRET, OTHER_SECRET], "SN0001", guess)).toBe(false);
      }),
    );
  });
});
