import {
  type AttributeValue,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
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
import { toDomainError } from "../aws-errors.ts";
import { fromItem as attendanceFromItem } from "./attendance-store.ts";
import { between, type CursorRule, decodeCursor, encodeCursor } from "./cursor.ts";
import { readItem, StoredQuarantineItem } from "./items.ts";
import { DEVICES_INDEX_KEY, GSI1, keys } from "./keys.ts";
import { presenceKey } from "./presence-store.ts";
import { getItem } from "./send.ts";
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
    return this.query(
      {
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: marshall({
          ":pk": pk,
          ":from": `ATT#${window.from}`,
          ":to": `ATT#${window.to}~`,
        }),
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
    return this.query(
      {
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to",
        ExpressionAttributeValues: marshall({ ":pk": pk, ":from": window.from, ":to": `${window.to}~` }),
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
    let start = decodeCursor(page.cursor, { query, keyAttributes: TABLE_KEYS, accept: () => true });
    const items: Array<Record<string, AttributeValue>> = [];
    try {
      // The filter applies after Limit, so one scan call can match nothing; a few more keep pages useful.
      for (let call = 0; call < MAX_SCAN_CALLS && items.length < page.limit; call++) {
        const result = await this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: "#type = :t AND attTimeNormalized BETWEEN :from AND :to",
            ExpressionAttributeNames: { "#type": "type" },
            ExpressionAttributeValues: marshall({
              ":t": "attendance",
              ":from": window.from,
              ":to": `${window.to}~`,
            }),
            Limit: page.limit - items.length,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        items.push(...(result.Items ?? []));
        start = result.LastEvaluatedKey;
        if (!start) break;
      }
      return toPage(items, start, query, attendanceFromItem);
    } catch (error) {
      throw toDomainError("DynamoDB Scan (attendance)", error);
    }
  }

  list(filter: { online?: boolean }, page: PageRequest): Promise<Page<DevicePresence>> {
    return this.query(
      {
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        // `online` is a DynamoDB reserved word, hence the placeholder.
        ...(filter.online === undefined
          ? {}
          : { FilterExpression: "#online = :online", ExpressionAttributeNames: { "#online": "online" } }),
        ExpressionAttributeValues: marshall({
          ":pk": DEVICES_INDEX_KEY,
          ...(filter.online === undefined ? {} : { ":online": filter.online }),
        }),
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
    const item = await getItem(this.client, {
      tableName: this.tableName,
      key: presenceKey(sn),
      what: "presence",
    });
    return item ? presenceFromItem(item) : undefined;
  }

  byDay(day: string, page: PageRequest): Promise<Page<QuarantineEntry>> {
    const pk = keys.quarantineDay(day);
    return this.query(
      {
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: marshall({ ":pk": pk }),
        ScanIndexForward: false,
      },
      page,
      { query: `quarantine|${pk}`, keyAttributes: TABLE_KEYS, accept: (k) => k.pk === pk },
      quarantineFromItem,
    );
  }

  private async query<T>(
    input: Omit<QueryCommandInput, "TableName" | "Limit" | "ExclusiveStartKey">,
    page: PageRequest,
    rule: CursorRule,
    map: (item: Record<string, unknown>) => T,
  ): Promise<Page<T>> {
    const start = decodeCursor(page.cursor, rule);
    try {
      const result = await this.client.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          Limit: page.limit,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      return toPage(result.Items, result.LastEvaluatedKey, rule.query, map);
    } catch (error) {
      throw toDomainError("DynamoDB Query", error);
    }
  }
}

function toPage<T>(
  items: Array<Record<string, import("@aws-sdk/client-dynamodb").AttributeValue>> | undefined,
  last: Record<string, import("@aws-sdk/client-dynamodb").AttributeValue> | undefined,
  query: string,
  map: (item: Record<string, unknown>) => T,
): Page<T> {
  const cursor = encodeCursor(last, query);
  return { items: (items ?? []).map((item) => map(unmarshall(item))), ...(cursor ? { cursor } : {}) };
}

function presenceFromItem(item: Record<string, unknown>): DevicePresence {
  return {
    sn: item.sn as string,
    state: item.state as DevicePresence["state"],
    ...(typeof item.online === "boolean" ? { online: item.online } : {}),
    ...(typeof item.since === "string" ? { since: item.since } : {}),
    ...(typeof item.lastSeenAt === "string" ? { lastSeenAt: item.lastSeenAt } : {}),
  };
}

function quarantineFromItem(item: Record<string, unknown>): QuarantineEntry {
  return readItem(StoredQuarantineItem, item, ["pk", "sk", "type", "ttlEpochSeconds"]);
}
