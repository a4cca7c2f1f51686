import { describe, expect, it } from "vitest";
import { deviceTopic, parseDeviceTopic } from "../../functions/core/topics.ts";

describe("device topics", () => {
  it("parses the serial number and channel of a device topic", () => {
    expect(parseDeviceTopic("api/mqtt/v1/SN_01-a/evt")).toEqual({ sn: "SN_01-a", channel: "evt" });
    expect(parseDeviceTopic("api/mqtt/v1/SN1/st")).toEqual({ sn: "SN1", channel: "st" });
  });

  it.each(["api/mqtt/v1/SN1/other", "api/mqtt/v2/SN1/evt", "api/mqtt/v1/SN1/evt/x", "api/mqtt/v1//evt", "x"])(
    "refuses %s",
    (topic) => {
      expect(parseDeviceTopic(topic)).toBeUndefined();
    },
  );

  it("never builds a topic from a serial number that could inject levels or wildcards", () => {
    for (const sn of ["a/b", "+", "#", "a b", "x".repeat(65)])
      expect(() => deviceTopic(sn, "cmd")).toThrow(/sn/);
    expect(deviceTopic("SN1", "cmd")).toBe("api/mqtt/v1/SN1/cmd");
  });
});
