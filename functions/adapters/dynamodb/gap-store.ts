import {
  type AttributeValue,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { AtWindow, DeviceLister, GapStore, GapTrackerPage, PunchReader } from "../../core/gaps/ports.ts";
import { DEFAULT_EPOCH } from "../../core/gaps/track-seq.ts";
import type { GapTracker, SeenPunch } from "../../core/gaps/types.ts";
import { send } from "../aws-errors.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { DEVICES_INDEX_KEY, GSI1, keys } from "./keys.ts";
import { getItem, sendConditional } from "./send.ts";
import { TableAdapter } from "./table-adapter.ts";

/** Sort key of a device's tracker item, beside its presence (`STATE`) and punches (`ATT#...`). */
const TRACKER_SK = "GAPS";
/** GSI1 partition listing the trackers with a gap not closed (sparse: only while they have one). */
export const UNRESOLVED_GAPS_KEY = "GAPS";

const trackerKey = (sn: string) => ({ pk: keys.device(sn), sk: TRACKER_SK });

/**
 * The gap tracker's items and reads. One item per device holds its series, gaps and drift as JSON; it
 * joins GSI1 only while a gap is unresolved, so the index costs nothing for devices that lose nothing.
 */
export class DynamoDbGapStore extends TableAdapter implements GapStore, PunchReader, DeviceLister {
  async get(sn: string): Promise<GapTracker | undefined> {
    const item = await getItem(this.client, {
      tableName: this.tableName,
      key: trackerKey(sn),
      what: "gap tracker",
    });
    return item ? fromItem(item) : undefined;
  }

  async save(tracker: GapTracker): Promise<boolean> {
    const { version, ...state } = tracker;
    const unresolved = tracker.gaps.some((gap) => gap.status !== "closed");
    const item = {
      ...trackerKey(tracker.sn),
      type: "gap_tracker",
      state: JSON.stringify(state),
      version: version + 1,
      ...(unresolved ? { gsi1pk: UNRESOLVED_GAPS_KEY, gsi1sk: tracker.sn } : {}),
    };
    return sendConditional("DynamoDB PutItem (gap tracker)", () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(item),
          ConditionExpression: version === 0 ? "attribute_not_exists(pk)" : "version = :v",
          ...(version === 0 ? {} : { ExpressionAttributeValues: marshall({ ":v": version }) }),
        }),
      ),
    );
  }

  async listUnresolved(limit: number, cursor?: string): Promise<GapTrackerPage> {
    const rule = {
      query: "gaps|unresolved",
      keyAttributes: ["pk", "sk", "gsi1pk", "gsi1sk"],
      accept: (k: Record<string, string>) => k.gsi1pk === UNRESOLVED_GAPS_KEY && k.sk === TRACKER_SK,
    };
    const start = decodeCursor(cursor, rule);
    const result = await send("DynamoDB Query (unresolved gaps)", () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: GSI1,
          KeyConditionExpression: "gsi1pk = :pk",
          ExpressionAttributeValues: marshall({ ":pk": UNRESOLVED_GAPS_KEY }),
          Limit: limit,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      ),
    );
    const next = encodeCursor(result.LastEvaluatedKey, rule.query);
    return {
      items: (result.Items ?? []).map((item) => fromItem(unmarshall(item))),
      ...(next ? { cursor: next } : {}),
    };
  }

  async read(sn: string, windows: AtWindow[]): Promise<SeenPunch[]> {
    const seen = new Map<string, SeenPunch>();
    for (const window of windows) {
      for (const punch of await this.readWindow(sn, window)) seen.set(punch.eventId, punch);
    }
    return [...seen.values()];
  }

  async flagSuspect(sn: string, punch: SeenPunch, reason: string): Promise<void> {
    await sendConditional("DynamoDB UpdateItem (suspect punch)", () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({
            pk: keys.device(sn),
            sk: keys.attendance(punch.attTimeNormalized, punch.userId, punch.attState),
          }),
          UpdateExpression: "SET suspect = :r",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: marshall({ ":r": reason }),
        }),
      ),
    );
  }

  async *listDevices(): AsyncIterable<string> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.tableName,
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: marshall({ ":pk": DEVICES_INDEX_KEY }),
        ProjectionExpression: "gsi1sk",
        ...(start ? { ExclusiveStartKey: start } : {}),
      };
      const result = await send("DynamoDB Query (devices)", () => this.client.send(new QueryCommand(input)));
      for (const item of result.Items ?? []) yield String(unmarshall(item).gsi1sk);
      start = result.LastEvaluatedKey;
    } while (start);
  }

  private async readWindow(sn: string, window: AtWindow): Promise<SeenPunch[]> {
    const punches: SeenPunch[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const result = await send("DynamoDB Query (punches for gaps)", () =>
        this.client.send(
          new QueryCommand({
            ...punchQuery(this.tableName, sn, window),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      for (const item of result.Items ?? []) punches.push(toSeen(unmarshall(item)));
      start = result.LastEvaluatedKey;
    } while (start);
    return punches;
  }
}

/** Only what the tracker uses: the numbers, times and key parts, not the whole record. */
function punchQuery(tableName: string, sn: string, window: AtWindow): QueryCommandInput {
  return {
    TableName: tableName,
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
    ExpressionAttributeValues: marshall({
      ":pk": keys.device(sn),
      ":from": `ATT#${window.from ?? ""}`,
      // '~' sorts after every character of a normalized time and after '#'.
      ":to": `ATT#${window.to ?? ""}~`,
    }),
    ProjectionExpression:
      "eventId, attTimeNormalized, receivedAt, userId, attState, suspect, #x.#seq, #x.#epoch",
    ExpressionAttributeNames: { "#x": "extra", "#seq": "seq", "#epoch": "seq_epoch" },
  };
}

function toSeen(item: Record<string, unknown>): SeenPunch {
  const extra = (item.extra ?? {}) as { seq?: unknown; seq_epoch?: unknown };
  return {
    eventId: String(item.eventId),
    attTimeNormalized: String(item.attTimeNormalized),
    receivedAt: String(item.receivedAt),
    userId: String(item.userId),
    attState: Number(item.attState),
    epoch: extra.seq_epoch === undefined ? DEFAULT_EPOCH : String(extra.seq_epoch),
    ...(typeof extra.seq === "number" ? { seq: extra.seq } : {}),
    ...(typeof item.suspect === "string" ? { suspect: item.suspect } : {}),
  };
}

function fromItem(item: Record<string, unknown>): GapTracker {
  return {
    ...(JSON.parse(String(item.state)) as Omit<GapTracker, "version">),
    version: Number(item.version),
  };
}
