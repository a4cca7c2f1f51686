import { createHash } from "node:crypto";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbAttendanceStore } from "../../functions/adapters/dynamodb/attendance-store.ts";
import { documentClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoDbGapStore, UNRESOLVED_GAPS_KEY } from "../../functions/adapters/dynamodb/gap-store.ts";
import { DynamoDbPresenceStore } from "../../functions/adapters/dynamodb/presence-store.ts";
import { InvalidInputError } from "../../functions/core/errors.ts";
import { emptyTracker } from "../../functions/core/gaps/reconcile.ts";
import type { Gap, GapTracker } from "../../functions/core/gaps/types.ts";
import { createTestResources, type TestResources, uniqueName } from "../support/resources.ts";

/** The gap tracker's items, punch reads and device list on DynamoDB Local. */
let env: TestResources;
let gaps: DynamoDbGapStore;

beforeAll(async () => {
  env = await createTestResources();
  gaps = new DynamoDbGapStore(env.dynamodb, env.tableName);
});
afterAll(() => env?.destroy());

const AT = "2026-12-02T10:00:00.000Z";

function openGap(from: number, to: number): Gap {
  return {
    epoch: "b1",
    from,
    to,
    missing: [[from, to]],
    status: "open",
    source: "seq",
    detectedAt: AT,
    attempts: 1,
  };
}

function trackerWithGap(sn: string, gap?: Gap): GapTracker {
  return {
    ...emptyTracker(sn, AT),
    series: [{ epoch: "b1", top: 9, topAt: "20261202100000", lastReceivedAt: AT }],
    gaps: gap ? [gap] : [],
    drift: { offsetMs: 1200, source: "status", sampledAt: AT, episode: 0, flagged: false, setTimeSent: 0 },
    persistedTop: { b1: 9 },
    resends: [{ id: "cmd-1", holdsUntil: AT }],
  };
}

/** A cursor in the form the store handed out while it was on the raw client: DynamoDB's own key form. */
function rawClientCursor(sn: string): string {
  const q = createHash("sha256").update("gaps|unresolved").digest("base64url").slice(0, 16);
  const k = {
    pk: { S: `DEVICE#${sn}` },
    sk: { S: "GAPS" },
    gsi1pk: { S: UNRESOLVED_GAPS_KEY },
    gsi1sk: { S: sn },
  };
  return Buffer.from(JSON.stringify({ q, k })).toString("base64url");
}

describe("tracker items", () => {
  it("reads a tracker back as saved, and writes it only over the version read", async () => {
    const sn = uniqueName("SN");
    expect(await gaps.get(sn)).toBeUndefined();
    const tracker = trackerWithGap(sn, openGap(3, 4));
    expect(await gaps.save(tracker)).toBe(true);
    expect(await gaps.save(tracker)).toBe(false);
    const stored = await gaps.get(sn);
    expect(stored).toEqual({ ...tracker, version: 1 });
    expect(await gaps.save({ ...tracker, version: 1, gaps: [] })).toBe(true);
    expect(await gaps.get(sn)).toMatchObject({ gaps: [], version: 2 });
  });

  it("reads a tracker whose last wave was written before resends said until when they hold, as holding none", async () => {
    const sn = uniqueName("SN");
    const { version, resends, ...state } = trackerWithGap(sn, openGap(3, 4));
    const written = { ...state, resends: [{ id: "cmd-0", expiresAt: AT }] };
    await documentClient(env.dynamodb).send(
      new PutCommand({
        TableName: env.tableName,
        Item: {
          pk: `DEVICE#${sn}`,
          sk: "GAPS",
          type: "gap_tracker",
          state: JSON.stringify(written),
          version: 3,
        },
      }),
    );
    expect(await gaps.get(sn)).toEqual({ ...state, resends: undefined, version: 3 });
  });

  it("lists the trackers with an unresolved gap a page at a time, through the old cursors too", async () => {
    const open = [uniqueName("SN-A"), uniqueName("SN-B"), uniqueName("SN-C")].sort();
    const closed = uniqueName("SN-D");
    for (const sn of open) await gaps.save(trackerWithGap(sn, openGap(5, 7)));
    await gaps.save(trackerWithGap(closed, { ...openGap(5, 7), status: "closed", missing: [] }));
    const first = await gaps.listUnresolved(2);
    expect(first.items.map((t) => t.sn)).toEqual(open.slice(0, 2));
    const rest = await gaps.listUnresolved(2, first.cursor);
    expect(rest).toEqual({ items: [{ ...trackerWithGap(open[2] ?? "", openGap(5, 7)), version: 1 }] });
    const restFromOldCursor = await gaps.listUnresolved(2, rawClientCursor(open[1] ?? ""));
    expect(restFromOldCursor).toEqual(rest);
    await expect(gaps.listUnresolved(2, "bm90LWEtY3Vyc29y")).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe("punches as the tracker reads them", () => {
  const attendance = () => new DynamoDbAttendanceStore(env.dynamodb, env.tableName);

  async function punch(sn: string, at: string, userId: string, extra: Record<string, unknown>) {
    const attTime = `2026-12-02 ${at}`;
    await attendance().putIfAbsent({
      eventId: `${sn}-${userId}-${at}`,
      sn,
      userId,
      attTime,
      attTimeNormalized: `20261202${at.replaceAll(":", "")}`,
      attState: 0,
      extra,
      receivedAt: AT,
      transport: "mqtt",
    });
  }

  it("reads a device's punches in the windows once each, and flags one suspect", async () => {
    const sn = uniqueName("SN");
    await punch(sn, "08:00:00", "u1", { seq: 1, seq_epoch: "b1" });
    await punch(sn, "09:00:00", "u2", { seq: 2 });
    await punch(sn, "11:00:00", "u3", { note: "no numbers" });
    const read = await gaps.read(sn, [{ to: "20261202093000" }, { from: "20261202083000" }]);
    expect(read.sort((a, b) => a.attTimeNormalized.localeCompare(b.attTimeNormalized))).toEqual([
      expect.objectContaining({ userId: "u1", seq: 1, epoch: "b1", attState: 0, receivedAt: AT }),
      expect.objectContaining({ userId: "u2", seq: 2, epoch: "0" }),
      {
        eventId: `${sn}-u3-11:00:00`,
        attTimeNormalized: "20261202110000",
        receivedAt: AT,
        userId: "u3",
        attState: 0,
        epoch: "0",
      },
    ]);
    const [first] = read;
    if (!first) throw new Error("no punch read");
    await gaps.flagSuspect(sn, first, "time in the future");
    await gaps.flagSuspect(sn, { ...first, userId: "nobody" }, "gone meanwhile");
    const again = await gaps.read(sn, [{}]);
    expect(again.filter((p) => p.suspect).map((p) => [p.userId, p.suspect])).toEqual([
      [first.userId, "time in the future"],
    ]);
    expect(again).toHaveLength(3);
  });

  it("lists every device with presence", async () => {
    const presence = new DynamoDbPresenceStore(env.dynamodb, env.tableName);
    const sns = [uniqueName("SN-P"), uniqueName("SN-Q")];
    for (const sn of sns) await presence.save(sn, { takeovers: [], lastSeenAt: Date.parse(AT) }, 0);
    const listed: string[] = [];
    for await (const sn of gaps.listDevices()) listed.push(sn);
    expect(listed).toEqual(expect.arrayContaining(sns));
  });
});
