import { expect } from "vitest";
import { DynamoDbReaders } from "../../functions/adapters/dynamodb/readers.ts";
import { startApi } from "./api-server.ts";
import type { TestResources } from "./resources.ts";

/** The operations API on a test's table, to check what a user sees of a device instead of its items. */
export function startReadApi(env: Pick<TestResources, "deps" | "dynamodb" | "tableName">) {
  return startApi({ ...env.deps, reader: new DynamoDbReaders(env.dynamodb, env.tableName) });
}

export type ReadApi = Awaited<ReturnType<typeof startReadApi>>;

/**
 * Nothing of device `sn` shows: `GET /v1/devices/{sn}` is a 404 (no presence, no pending command, no
 * registry entry) and `GET /v1/devices/{sn}/attendance` lists no punch.
 */
export async function expectNothingShown(api: ReadApi, sn: string) {
  const device = await api.request("GET", `/v1/devices/${sn}`);
  expect(device.status, `GET /v1/devices/${sn}: ${JSON.stringify(device.body)}`).toBe(404);
  const attendance = await api.request("GET", `/v1/devices/${sn}/attendance`);
  expect(attendance.status).toBe(200);
  expect(attendance.body.items, `attendance of ${sn}`).toEqual([]);
}
