import { beforeAll, describe, expect, it } from "vitest";
import { DynamoDbDeviceRegistry } from "../../functions/adapters/dynamodb/device-registry.ts";
import { createTestResources } from "../support/resources.ts";

describe("the device registry on DynamoDB Local", () => {
  let registry: DynamoDbDeviceRegistry;
  beforeAll(async () => {
    const resources = await createTestResources();
    registry = new DynamoDbDeviceRegistry(resources.dynamodb, resources.tableName);
  });

  it("registers once: a second first login does not overwrite the entry", async () => {
    const first = {
      sn: "SNR1",
      enabled: true,
      generation: 0,
      createdAt: "2026-12-01T08:00:00.000Z",
    } as const;
    await registry.registerIfAbsent({ ...first, registeredBy: "first_login" });
    await registry.registerIfAbsent({
      ...first,
      enabled: false,
      createdAt: "later",
      registeredBy: "first_login",
    });
    expect(await registry.find("SNR1")).toEqual({ ...first, registeredBy: "first_login" });
  });

  it("rotates to the next generation, creating an operator entry for an unknown device", async () => {
    expect(await registry.rotate("SNR2", "2026-12-01T09:00:00.000Z")).toMatchObject({
      sn: "SNR2",
      generation: 1,
      enabled: true,
      registeredBy: "operator",
    });
    expect((await registry.rotate("SNR2", "2026-12-01T09:05:00.000Z")).generation).toBe(2);
    expect(await registry.find("SNR2")).toMatchObject({
      generation: 2,
      createdAt: "2026-12-01T09:00:00.000Z",
    });
  });

  it("disables a registered device, and reports an unknown one as not registered", async () => {
    await registry.rotate("SNR3", "2026-12-01T09:00:00.000Z");
    expect(await registry.setEnabled("SNR3", false, "2026-12-01T10:00:00.000Z")).toMatchObject({
      enabled: false,
    });
    expect(await registry.setEnabled("SNR-NONE", false, "2026-12-01T10:00:00.000Z")).toBeUndefined();
    expect(await registry.find("SNR-NONE")).toBeUndefined();
  });

  it("records a login only on a registered device", async () => {
    await registry.recordLogin("SNR-GHOST", "2026-12-01T11:00:00.000Z");
    expect(await registry.find("SNR-GHOST")).toBeUndefined();
    await registry.recordLogin("SNR2", "2026-12-01T11:00:00.000Z");
    expect(await registry.find("SNR2")).toMatchObject({ lastLoginAt: "2026-12-01T11:00:00.000Z" });
  });
});
