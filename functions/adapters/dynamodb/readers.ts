import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import type { StoredAttendance } from "../../core/ports.ts";
import type { QuarantineEntry } from "../../core/quarantine.ts";
import type {
  AttendanceReader,
  DevicePresence,
  DeviceReader,
  Page,
  PageRequest,
  QuarantineReader,
} from "../../core/queries.ts";
import type { TimeWindow } from "../../core/time-window.ts";
import { send } from "../aws-errors.ts";
import { fromItem as attendanceFromItem } from "./attendance-store.ts";
import { between, decodeCursorKey, encodeCursor } from "./cursor.ts";
import { readItem, StoredPresenceItem, StoredQuarantineItem } from "./items.ts";
import { DEVICES_INDEX_KEY, GSI1, keys } from "./keys.ts";
import { presenceKey } from "./presence-store.ts";
import { TableAdapter } from "./table-adapter.ts";

const TABLE_KEYS = ["pk", "sk"] as const;
/** Scan calls one replay page may make; bounds a call's time on a large, sparse table. */
const MAX_SCAN_CALLS = 10;
const GSI1_KEYS = ["pk", "sk", "gsi1pk", "gsi1sk"] as const;

/** Attendance, devices and the quarantine, read back for the operations API. */
export class DynamoDbReaders
  extends TableAdapter
  implements AttendanceReader, DeviceReader, QuarantineReader
{
  byDevice(sn: string, window: TimeWindow, page: PageRequest): Promise<Page<StoredAttendance>> {
    const pk = keys.device(sn);
    return this.queryPage(
      {
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":pk": pk, ":from": `ATT#${window.from}`, ":to": `ATT#${window.to}~` },
      },
      page,
      {
        query: `attendance-device|${pk}|${window.from}|${window.to}`,
        keyAttributes: TABLE_KEYS,
        accept: (k) => k.pk === pk && between(k.sk, `ATT#${window.from}`, `ATT#${window.to}~`),
      },
      attendanceFromItem,
    );
  }

  byUser(userId: string, window: TimeWindow, page: PageRequest): Promise<Page<StoredAttendance>> {
    const pk = keys.user(userId);
    return this.queryPage(
      {
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":pk": pk, ":from": window.from, ":to": `${window.to}~` },
      },
      page,
      {
        query: `attendance-user|${pk}|${window.from}|${window.to}`,
        keyAttributes: GSI1_KEYS,
        accept: (k) =>
          k.gsi1pk === pk &&
          between(k.gsi1sk, window.from, `${window.to}~`) &&
          (k.pk ?? "").startsWith("DEVICE#") &&
          (k.sk ?? "").startsWith("ATT#"),
      },
      attendanceFromItem,
    );
  }

  async all(window: TimeWindow, page: PageRequest): Promise<Page<StoredAttendance>> {
    const query = `attendance-all|${window.from}|${window.to}`;
    // A scan may stop on any item, so only the query and the key's shape are checked; the route is admin-only.
    let start: Record<string, unknown> | undefined = decodeCursorKey(page.cursor, {
      query,
      keyAttributes: TABLE_KEYS,
      accept: () => true,
    });
    const items: StoredAttendance[] = [];
    // The filter applies after Limit, so one scan call can match nothing; a few more keep pages useful.
    for (let call = 0; call < MAX_SCAN_CALLS && items.length < page.limit; call++) {
      const result = await this.scanAttendance(window, page.limit - items.length, start);
      items.push(...(result.Items ?? []).map(attendanceFromItem));
      start = result.LastEvaluatedKey;
      if (!start) break;
    }
    const cursor = encodeCursor(start, query);
    return { items, ...(cursor ? { cursor } : {}) };
  }

  private scanAttendance(window: TimeWindow, limit: number, start: Record<string, unknown> | undefined) {
    return send("DynamoDB Scan (attendance)", () =>
      this.documents.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: "#type = :t AND attTimeNormalized BETWEEN :from AND :to",
          ExpressionAttributeNames: { "#type": "type" },
          ExpressionAttributeValues: { ":t": "attendance", ":from": window.from, ":to": `${window.to}~` },
          Limit: limit,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      ),
    );
  }

  list(filter: { online?: boolean }, page: PageRequest): Promise<Page<DevicePresence>> {
    return this.queryPage(
      {
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        // `online` is a DynamoDB reserved word, hence the placeholder.
        ...(filter.online === undefined
          ? {}
          : { FilterExpression: "#online = :online", ExpressionAttributeNames: { "#online": "online" } }),
        ExpressionAttributeValues: {
          ":pk": DEVICES_INDEX_KEY,
          ...(filter.online === undefined ? {} : { ":online": filter.online }),
        },
      },
      page,
      {
        query: `devices|${filter.online ?? "all"}`,
        keyAttributes: GSI1_KEYS,
        accept: (k) =>
          k.gsi1pk === DEVICES_INDEX_KEY && k.pk === keys.device(k.gsi1sk ?? "") && k.sk === keys.presence(),
      },
      presenceFromItem,
    );
  }

  async get(sn: string): Promise<DevicePresence | undefined> {
    return this.itemByKey(presenceKey(sn), "presence", presenceFromItem, false);
  }

  byDay(day: string, page: PageRequest): Promise<Page<QuarantineEntry>> {
    const pk = keys.quarantineDay(day);
    return this.queryPage(
      {
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk },
        ScanIndexForward: false,
      },
      page,
      { query: `quarantine|${pk}`, keyAttributes: TABLE_KEYS, accept: (k) => k.pk === pk },
      quarantineFromItem,
    );
  }
}

/** The presence item as the device listing shows it: its state, and the flat copies beside it. */
function presenceFromItem(item: Record<string, unknown>): DevicePresence {
  const { sn, state, online, since, lastSeenAt } = v.parse(StoredPresenceItem, item);
  return {
    sn,
    state,
    ...(online !== undefined ? { online } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(lastSeenAt !== undefined ? { lastSeenAt } : {}),
  };
}

function quarantineFromItem(item: Record<string, unknown>): QuarantineEntry {
  return readItem(StoredQuarantineItem, item, ["pk", "sk", "type", "ttlEpochSeconds"]);
}
