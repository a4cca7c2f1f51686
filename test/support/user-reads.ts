import { DynamoDbReaders } from "../../functions/adapters/dynamodb/readers.ts";
import type { StoredAttendance } from "../../functions/core/ports.ts";
import type { QuarantineEntry } from "../../functions/core/quarantine.ts";
import type { DevicePresence, Page, PageRequest } from "../../functions/core/queries.ts";
import { parseWindow } from "../../functions/core/time-window.ts";
import type { TestResources } from "./resources.ts";

/**
 * What the operations API reads (its reader port, the one behind `GET /v1/devices/{sn}`,
 * `.../attendance` and `/v1/quarantine`), so tests check what a user sees instead of the table's keys.
 */
export function userReads(env: Pick<TestResources, "dynamodb" | "tableName">) {
  const readers = new DynamoDbReaders(env.dynamodb, env.tableName);
  const everyTime = parseWindow(undefined, undefined);
  return {
    /** Every punch of the device, as `GET /v1/devices/{sn}/attendance` pages them. */
    attendance: (sn: string) => allPages<StoredAttendance>((page) => readers.byDevice(sn, everyTime, page)),
    /** The device as `GET /v1/devices/{sn}` returns it. */
    device: (sn: string): Promise<DevicePresence | undefined> => readers.get(sn),
    /** A day's quarantine, as `GET /v1/quarantine?day=` pages it. */
    quarantined: (day: string) => allPages<QuarantineEntry>((page) => readers.byDay(day, page)),
  };
}

async function allPages<T>(read: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await read({ limit: 100, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return items;
}
