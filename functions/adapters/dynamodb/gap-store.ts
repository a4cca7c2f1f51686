import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import type { AtWindow, DeviceLister, GapStore, GapTrackerPage, PunchReader } from "../../core/gaps/ports.ts";
import { DEFAULT_EPOCH } from "../../core/gaps/track-seq.ts";
import type { GapTracker, SeenPunch } from "../../core/gaps/types.ts";
import { checkStorable } from "../aws-errors.ts";
import type { CursorRule } from "./cursor.ts";
import { readItem } from "./items.ts";
import { DEVICES_INDEX_KEY, GSI1, keys } from "./keys.ts";
import { sendConditional } from "./send.ts";
import { type QueryInput, TableAdapter } from "./table-adapter.ts";

/** Sort key of a device's tracker item, beside its presence (`STATE`) and punches (`ATT#...`). */
const TRACKER_SK = "GAPS";
/** GSI1 partition listing the trackers with a gap not closed (sparse: only while they have one). */
export const UNRESOLVED_GAPS_KEY = "GAPS";

const trackerKey = (sn: string) => ({ pk: keys.device(sn), sk: TRACKER_SK });
const TABLE_ATTRIBUTES = ["pk", "sk", "gsi1pk", "gsi1sk", "type"];

/**
 * The cursor of `listUnresolved`: the query's name and key attributes are those of the cursors handed out
 * while this store was on the raw client, so those still read.
 */
const UNRESOLVED_RULE: CursorRule = {
  query: "gaps|unresolved",
  keyAttributes: ["pk", "sk", "gsi1pk", "gsi1sk"],
  accept: (k) => k.gsi1pk === UNRESOLVED_GAPS_KEY && k.sk === TRACKER_SK,
};

const text = v.string();
const optionalText = v.optional(text);
const count = v.number();

const StoredGap = v.looseObject({
  epoch: text,
  from: count,
  to: count,
  missing: v.array(v.tuple([count, count])),
  status: v.picklist(["pending", "open", "closed", "unrecoverable"]),
  source: v.picklist(["seq", "tail"]),
  detectedAt: text,
  openedAt: optionalText,
  closedAt: optionalText,
  attempts: count,
  nextAttemptAt: optionalText,
  lastAskedAt: optionalText,
  afterAt: optionalText,
  beforeAt: optionalText,
});

const StoredDrift = v.looseObject({
  offsetMs: count,
  source: v.picklist(["status", "punch"]),
  sampledAt: text,
  episode: count,
  flagged: v.boolean(),
  setTimeSent: count,
  lastSetTimeAt: optionalText,
  correctionMs: v.optional(count),
});

/** The tracker (functions/core/gaps/types.ts) as `save` writes it into `state`, as JSON; only shapes are checked. */
const StoredTrackerState = v.looseObject({
  sn: text,
  firstSightAt: text,
  series: v.array(v.looseObject({ epoch: text, top: count, topAt: optionalText, lastReceivedAt: text })),
  gaps: v.array(StoredGap),
  drift: v.optional(StoredDrift),
  persistedTop: v.record(text, count),
  // Written as `{ id, expiresAt }` before `holdsUntil`: such a wave never held the next one (its time read
  // as NaN), and read as none it still does not.
  resends: v.fallback(v.optional(v.array(v.looseObject({ id: text, holdsUntil: text }))), undefined),
  latestAt: optionalText,
  persistedLatestAt: optionalText,
});

const StoredTrackerItem = v.looseObject({
  state: v.pipe(text, v.parseJson(), StoredTrackerState),
  version: count,
});

/**
 * A punch as `punchQuery` projects it. `extra` is the device's record: `seq` is taken only as a number and
 * `seq_epoch` as text, as the tracker always read them (punches stored before both were validated may hold
 * anything there).
 */
const StoredPunch = v.looseObject({
  eventId: text,
  attTimeNormalized: text,
  receivedAt: text,
  userId: text,
  attState: count,
  suspect: optionalText,
  extra: v.optional(
    v.looseObject({
      seq: v.fallback(v.optional(count), undefined),
      seq_epoch: v.optional(v.pipe(v.unknown(), v.transform(String))),
    }),
  ),
});

/** The devices index as `listDevices` projects it: the serial number only. */
const StoredDeviceEntry = v.looseObject({ gsi1sk: text });

/**
 * The gap tracker's items and reads. One item per device holds its series, gaps and drift as JSON; it
 * joins GSI1 only while a gap is unresolved, so the index costs nothing for devices that lose nothing.
 */
export class DynamoDbGapStore extends TableAdapter implements GapStore, PunchReader, DeviceLister {
  async get(sn: string): Promise<GapTracker | undefined> {
    // Eventually consistent: `save` writes only over the version read, so a stale read costs a conflict.
    return this.itemByKey(trackerKey(sn), "gap tracker", fromItem, false);
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
    checkStorable(item, "gap tracker");
    return this.putAtVersion(item, version, "gap tracker");
  }

  listUnresolved(limit: number, cursor?: string): Promise<GapTrackerPage> {
    const input: QueryInput = {
      IndexName: GSI1,
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": UNRESOLVED_GAPS_KEY },
    };
    return this.queryPage(input, { limit, cursor }, UNRESOLVED_RULE, fromItem);
  }

  async read(sn: string, windows: AtWindow[]): Promise<SeenPunch[]> {
    const seen = new Map<string, SeenPunch>();
    for (const window of windows) {
      for (const punch of await this.queryAll(punchQuery(sn, window), "punches for gaps", toSeen)) {
        seen.set(punch.eventId, punch);
      }
    }
    return [...seen.values()];
  }

  async flagSuspect(sn: string, punch: SeenPunch, reason: string): Promise<void> {
    // The punch may be gone (TTL) since it was read: nothing to flag then.
    await sendConditional("DynamoDB UpdateItem (suspect punch)", () =>
      this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: {
            pk: keys.device(sn),
            sk: keys.attendance(punch.attTimeNormalized, punch.userId, punch.attState),
          },
          UpdateExpression: "SET suspect = :r",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":r": reason },
        }),
      ),
    );
  }

  /** Every device with presence (the pass reads them all before it starts). */
  async *listDevices(): AsyncIterable<string> {
    const input: QueryInput = {
      IndexName: GSI1,
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": DEVICES_INDEX_KEY },
      ProjectionExpression: "gsi1sk",
    };
    yield* await this.queryAll(input, "devices", (item) => v.parse(StoredDeviceEntry, item).gsi1sk);
  }
}

/** Only what the tracker uses: the numbers, times and key parts, not the whole record. */
function punchQuery(sn: string, window: AtWindow): QueryInput {
  return {
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
    ExpressionAttributeValues: {
      ":pk": keys.device(sn),
      ":from": `ATT#${window.from ?? ""}`,
      // '~' sorts after every character of a normalized time and after '#'.
      ":to": `ATT#${window.to ?? ""}~`,
    },
    ProjectionExpression:
      "eventId, attTimeNormalized, receivedAt, userId, attState, suspect, #x.#seq, #x.#epoch",
    ExpressionAttributeNames: { "#x": "extra", "#seq": "seq", "#epoch": "seq_epoch" },
  };
}

function toSeen(item: Record<string, unknown>): SeenPunch {
  const { extra, suspect, ...punch } = readItem(StoredPunch, item, TABLE_ATTRIBUTES);
  return {
    eventId: punch.eventId,
    attTimeNormalized: punch.attTimeNormalized,
    receivedAt: punch.receivedAt,
    userId: punch.userId,
    attState: punch.attState,
    epoch: extra?.seq_epoch ?? DEFAULT_EPOCH,
    ...(extra?.seq === undefined ? {} : { seq: extra.seq }),
    ...(suspect === undefined ? {} : { suspect }),
  };
}

function fromItem(item: Record<string, unknown>): GapTracker {
  const { state, version } = readItem(StoredTrackerItem, item, TABLE_ATTRIBUTES);
  return { ...state, version };
}
