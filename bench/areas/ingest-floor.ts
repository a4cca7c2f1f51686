import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { Hono } from "hono";
import * as v from "valibot";
import { recordAttendance } from "../../functions/core/attendance.ts";
import { AttendanceRecord } from "../../functions/core/schemas/attendance.ts";
import { EmqxRuleEvent } from "../../functions/core/schemas/emqx.ts";
import { bearerAuth } from "../../functions/http/bearer-auth.ts";
import { RULE_EVENTS_PATH } from "../../functions/ingest/app.ts";
import { progressBar } from "../../local/simulator/progress.ts";
import {
  call,
  emqxId,
  type Fixture,
  INGEST_TOKEN,
  publishEvent,
  punch,
  ruleEventRequest,
} from "../lib/fixture.ts";
import {
  handStoredItem,
  putByHand,
  type RawPunch,
  storeByHand,
  storeDesignedByHand,
} from "../lib/hand-stored.ts";
import { type Area, ms, times } from "../lib/report.ts";
import { SdkTime, type TimeSplit } from "../lib/sdk-time.ts";
import { interleaved, mean, percentile } from "../lib/stats.ts";

/** Within this of the floor: what is left is the handler's own work (parse, validate, answer). */
const GOAL = 1.15;
const DEVICES = 20;

/**
 * Warm ingest against the floor, in-process through the Hono app's `fetch` on the same SDK clients:
 * a new punch against a bare conditional PutItem + SendMessage, a duplicate against a bare failing
 * conditional PutItem. Interleaved, so the machine's noise lands on both.
 */
export async function ingestVsFloor(fx: Fixture, samples: number): Promise<Area> {
  const warmup = Math.max(20, Math.round(samples / 10));
  const floor = floorCalls(fx);
  const sdk = new SdkTime();
  for (const client of [fx.clients.dynamodb, fx.clients.sqs]) sdk.attach(client);
  const split: Record<SplitName, TimeSplit[]> = { app: [], floor: [], domain: [], checked: [] };
  // Each pair on devices of its own (the tag), so no pair finds another's punches stored.
  const post = (app: Parameters<typeof call>[0], tag: string) => (i: number) =>
    call(app, ruleEventRequest(publishEvent(`${tag}${fx.id}N${i % DEVICES}`, "evt", punch(i))));
  const floorSn = (tag: string) => (i: number) => `FLOOR${fx.id}${tag}${i % DEVICES}`;
  const pair = (label: string, a: Call, b: Call, count: number) =>
    interleaved(a, b, count, { warmup, onProgress: progress(label, count) });
  const half = Math.round(samples / 2);
  const fresh = await pair(
    "ingest new  ",
    sdk.timed(answering("stored", post(fx.ingest, "BF")), split.app),
    sdk.timed((i) => floor.newPunch(floorSn("N")(i), i), split.floor),
    samples,
  );
  // The same punches again, as EMQX sends a message whose answer it did not get: new message id.
  const duplicate = await pair(
    "ingest dup  ",
    answering("duplicates", post(fx.ingest, "BF")),
    (i) => floor.duplicate(floorSn("N")(i), i),
    samples,
  );
  // Where the gap is: the same punches through the domain on the real adapters, without the HTTP edge.
  const domain = await pair(
    "domain new  ",
    sdk.timed((i) => recordOne(fx, `BD${fx.id}N${i % DEVICES}`, i), split.domain),
    (i) => floor.newPunch(floorSn("D")(i), i),
    half,
  );
  // What Hono itself costs here: the same request through a one-route app that only makes the floor's requests.
  const honoPost = post(oneRouteHono(floor), "BH");
  const honoAlone = await pair("hono new    ", honoPost, (i) => floor.newPunch(floorSn("H")(i), i), half);
  const honoDuplicate = await pair(
    "hono dup    ",
    honoPost,
    (i) => floor.duplicate(floorSn("H")(i), i),
    half,
  );
  // The least any handler the bridge may have does: Hono, the bearer check, the same schemas, the floor's requests.
  const honoChecked = await pair(
    "hono checked",
    sdk.timed(post(oneRouteCheckedHono(floor.storeHandItem), "BV"), split.checked),
    (i) => floor.newPunch(floorSn("V")(i), i),
    half,
  );
  // The floor's two requests with the item and event the design stores and sends: the data's own share.
  const designedData = await pair(
    "floor design",
    (i) => floor.newDesigned(floorSn("S")(i), i),
    (i) => floor.newPunch(floorSn("T")(i), i),
    half,
  );
  // The design's duplicate is a failing put that returns the stored item: what that part costs by hand.
  const storedReturned = await pair(
    "floor dup   ",
    (i) => floor.duplicate(floorSn("N")(i), i, { returnStored: true }),
    (i) => floor.duplicate(floorSn("N")(i), i),
    half,
  );
  // The least the brief allows, against the floor; and the whole app against that least.
  const least = await leastPairs(
    oneRouteCheckedHono(floor.storeDesigned),
    { fx, floor, pair, post, floorSn },
    half,
  );
  const rows = [
    ...ratioRows("new punch", fresh, "conditional PutItem + SendMessage"),
    ...ratioRows("duplicate", duplicate, "failing conditional PutItem"),
    decomposition(fresh, domain, honoAlone),
    checkedHonoRow(honoChecked),
    designedDataRow(designedData),
    duplicateDecomposition(duplicate, honoDuplicate, storedReturned),
    ...leastRows(least),
    outsideTheSdk(split, warmup),
  ];
  return {
    id: "ingest",
    title: "Warm ingest vs the floor (in-process `fetch`, DynamoDB Local + fauxqs, interleaved)",
    rows,
    notes: [
      `${samples} pairs each after ${warmup} warm-up pairs. Absolute times are this machine's and the stand-ins'; only the ratios are goals.`,
    ],
    data: {
      samples,
      newPunch: summary(fresh),
      duplicate: summary(duplicate),
      domain: summary(domain),
      honoAlone: summary(honoAlone),
      honoDuplicate: summary(honoDuplicate),
      honoChecked: summary(honoChecked),
      designedData: summary(designedData),
      duplicateReturningStored: summary(storedReturned),
      leastNew: summary(least.newVsFloor),
      leastDuplicate: summary(least.duplicateVsFloor),
      appVsLeastNew: summary(least.appVsNew),
      appVsLeastDuplicate: summary(least.appVsDuplicate),
      timeSplitMs: Object.fromEntries(
        Object.entries(split).map(([name, calls]) => [name, meanSplit(calls.slice(warmup))]),
      ),
    },
  };
}

function ratioRows(label: string, paired: { a: number[]; b: number[] }, floorName: string) {
  const rows = [];
  for (const p of [50, 99]) {
    const ratio = percentile(paired.a, p) / percentile(paired.b, p);
    rows.push({
      figure: `${label}, p${p} vs ${floorName}`,
      value: `${times(ratio)} (${ms(percentile(paired.a, p))} vs ${ms(percentile(paired.b, p))})`,
      goal: `≤ ${times(GOAL)}`,
      met: ratio <= GOAL,
    });
  }
  return rows;
}

/** `recordAttendance` on the fixture's own ports: the domain and the adapters, no request or answer. */
async function recordOne(fx: Fixture, sn: string, n: number): Promise<void> {
  const records = [v.parse(AttendanceRecord, punch(n))];
  const outcome = await recordAttendance(fx.deps, { sn, records, transport: "mqtt", emqxId: emqxId() });
  if (outcome.stored.length !== 1)
    throw new Error(`the domain did not store punch ${n}: ${JSON.stringify(outcome)}`);
}

/**
 * Where the gap is, each ratio from its own interleaved pair: the domain on the real adapters (no request,
 * no answer) against the floor, and the whole app against the floor; what lies between is the HTTP edge.
 */
function decomposition(app: Paired, domain: Paired, hono: Paired) {
  const cpu = (values: number[]) => mean(values) / 1000;
  const p50 = (pair: Paired) => percentile(pair.a, 50) / percentile(pair.b, 50);
  const cpuRatio = (pair: Paired) => cpu(pair.cpuA) / cpu(pair.cpuB);
  return {
    figure:
      "new punch vs the floor: a one-route Hono app making the floor's requests; the domain on the real adapters without the HTTP edge; the whole app",
    value: [
      `Hono alone p50 ${times(p50(hono))}, CPU ${times(cpuRatio(hono))} (${ms(cpu(hono.cpuA))})`,
      `domain p50 ${times(p50(domain))}, CPU ${times(cpuRatio(domain))} (${ms(cpu(domain.cpuA))})`,
      `whole app p50 ${times(p50(app))}, CPU ${times(cpuRatio(app))} (${ms(cpu(app.cpuA))})`,
    ].join("; "),
  };
}

/** The one-route app that authenticates and validates as the ingest must, against the floor. */
function checkedHonoRow(checked: Paired) {
  return {
    figure:
      "new punch vs the floor: a one-route Hono app with the bearer check and the rule event's and punch's schemas, making the floor's requests",
    value: `${pairRatios(checked, { cpu: true })} (${ms(mean(checked.cpuA) / 1000)})`,
  };
}

/** The floor's requests carrying the design's item and event, against the floor: what the data adds. */
function designedDataRow(designed: Paired) {
  return {
    figure:
      "new punch: the floor's two requests carrying the item and event the design stores and sends (the store's `toItem`, the events queue's entry) vs the floor",
    value: pairRatios(designed, { cpu: true }),
  };
}

/** A pair's p50 and p99 ratios (and its CPU ratio), as the decomposition rows print them. */
function pairRatios(pair: Paired, { cpu = false } = {}): string {
  const at = (p: number) => times(percentile(pair.a, p) / percentile(pair.b, p));
  const cpuRatio = cpu ? `, CPU ${times(mean(pair.cpuA) / mean(pair.cpuB))}` : "";
  return `p50 ${at(50)}, p99 ${at(99)}${cpuRatio}`;
}

/**
 * The duplicate's floor is one request, so Hono's own cost weighs more: the same pair for the one-route
 * app; and the bare put returning the stored item, as the design's duplicate does (DESIGN: one write whose
 * failure returns the stored item, so a retry can tell its own write and an unsent punch without a read).
 */
function duplicateDecomposition(app: Paired, hono: Paired, storedReturned: Paired) {
  const p50 = (pair: Paired) => percentile(pair.a, 50) / percentile(pair.b, 50);
  return {
    figure:
      "duplicate vs the floor: the bare put returning the stored item (ALL_OLD); the one-route Hono app; the whole app",
    value: [
      `returning the stored item p50 ${times(p50(storedReturned))}`,
      `Hono alone p50 ${times(p50(hono))} (${ms(percentile(hono.a, 50))})`,
      `whole app p50 ${times(p50(app))}`,
    ].join("; "),
  };
}

interface LeastSetting {
  fx: Fixture;
  floor: ReturnType<typeof floorCalls>;
  pair: (label: string, a: Call, b: Call, count: number) => Promise<Paired>;
  post: (app: Parameters<typeof call>[0], tag: string) => (i: number) => Promise<Record<string, unknown>>;
  floorSn: (tag: string) => (i: number) => string;
}

/**
 * The least any handler the brief allows does for a punch (`least`: Hono, the bearer check, the ingest's
 * schemas, the design's item and event, its put returning the stored item on a duplicate), with none of
 * our edge or domain: against the floor, and the whole app against it, new and duplicate, each interleaved.
 */
async function leastPairs(least: Hono, { fx, floor, pair, post, floorSn }: LeastSetting, count: number) {
  const newVsFloor = await pair(
    "least new   ",
    answering("stored", post(least, "BR")),
    (i) => floor.newPunch(floorSn("R")(i), i),
    count,
  );
  const duplicateVsFloor = await pair(
    "least dup   ",
    answering("duplicates", post(least, "BR")),
    (i) => floor.duplicate(floorSn("R")(i), i),
    count,
  );
  // Devices of their own again, so the app and the least each store their own punches, then repeat them.
  const appVsNew = await pair(
    "vs least new",
    answering("stored", post(fx.ingest, "BA")),
    answering("stored", post(least, "BQ")),
    count,
  );
  const appVsDuplicate = await pair(
    "vs least dup",
    answering("duplicates", post(fx.ingest, "BA")),
    answering("duplicates", post(least, "BQ")),
    count,
  );
  return { newVsFloor, duplicateVsFloor, appVsNew, appVsDuplicate };
}

/** What the least allowed costs over the floor, and what our edge and domain cost over that least. */
function leastRows(least: Awaited<ReturnType<typeof leastPairs>>) {
  return [
    {
      figure:
        "the least the brief allows vs the floor: a one-route Hono app with the bearer check, the ingest's schemas and the design's item, event and put (no edge or domain of ours)",
      value: `new punch ${pairRatios(least.newVsFloor)}; duplicate ${pairRatios(least.duplicateVsFloor)}`,
    },
    {
      figure: "the whole app vs that least, interleaved: what our edge and domain add",
      value: `new punch ${pairRatios(least.appVsNew, { cpu: true })}; duplicate ${pairRatios(least.appVsDuplicate, { cpu: true })}`,
    },
  ];
}

/**
 * Each call's wall time around and inside its SDK requests (means): what the handler's own code costs in
 * the bench's setting, next to the domain alone and to the floor's marshalling.
 */
function outsideTheSdk(split: Record<SplitName, TimeSplit[]>, warmup: number) {
  const show = (name: string, calls: TimeSplit[]) => {
    const m = meanSplit(calls.slice(warmup));
    return `${name} ${ms(m.before)} / ${ms(m.between)} / ${ms(m.after)} (SDK ${ms(m.inside)})`;
  };
  return {
    figure: "new punch, mean time outside the SDK's requests: before the first / between / after the last",
    value: [
      show("app", split.app),
      show("the checked one-route Hono app", split.checked),
      show("domain", split.domain),
      show("floor", split.floor),
    ].join("; "),
  };
}

function meanSplit(calls: TimeSplit[]): TimeSplit {
  const of = (key: keyof TimeSplit) => mean(calls.map((c) => c[key]));
  return { before: of("before"), inside: of("inside"), between: of("between"), after: of("after") };
}

type Paired = { a: number[]; b: number[]; cpuA: number[]; cpuB: number[] };
type SplitName = "app" | "floor" | "domain" | "checked";
type Call = (i: number) => Promise<unknown>;

function summary(paired: Paired) {
  return {
    p50Ms: percentile(paired.a, 50),
    p99Ms: percentile(paired.a, 99),
    floorP50Ms: percentile(paired.b, 50),
    floorP99Ms: percentile(paired.b, 99),
    /** CPU of this process per call, the SQS stand-in's included (it runs here): an upper bound. */
    cpuMs: mean(paired.cpuA) / 1000,
    floorCpuMs: mean(paired.cpuB) / 1000,
  };
}

const progress = (label: string, total: number) => {
  const bar = progressBar(label, total);
  return (done: number) => bar(done);
};

/** The floor: the requests a new punch and a duplicate cannot do without, on the same clients. */
function floorCalls(fx: Fixture) {
  const target = { ...fx.clients, tableName: fx.resources.tableName, queueUrl: fx.resources.eventsQueueUrl };
  const storePunch = (sn: string, p: RawPunch) => storeByHand(target, handStoredItem(sn, p));
  return {
    storePunch,
    /** A validated punch stored as the floor's hand item. */
    storeHandItem: (sn: string, record: AttendanceRecord) =>
      storePunch(sn, { user_id: record.user_id, att_time: record.att_time, att_state: record.att_state }),
    /** A validated punch stored and announced as the design's item and event (DESIGN §4). */
    storeDesigned: (sn: string, record: AttendanceRecord, id: string) =>
      storeDesignedByHand(target, sn, record, id),
    async newPunch(sn: string, n: number) {
      if (!(await storePunch(sn, punch(n)))) throw new Error(`the floor's new punch ${n} was stored before`);
    },
    async newDesigned(sn: string, n: number) {
      if (!(await storeDesignedByHand(target, sn, punch(n), emqxId())))
        throw new Error(`the floor's new punch ${n} was stored before`);
    },
    async duplicate(sn: string, n: number, { returnStored = false } = {}) {
      try {
        await putByHand(target, handStoredItem(sn, punch(n)), { returnStored });
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        if (returnStored && !error.Item) throw new Error("the failing put did not return the stored item");
        return;
      }
      throw new Error("the floor's duplicate put succeeded: the punch was not stored the first time");
    },
  };
}

/**
 * A post whose answer must say the punch was stored (new) or found stored (a duplicate), as the floor's
 * own calls check theirs: a pair never times the other path unnoticed.
 */
function answering(outcome: "stored" | "duplicates", post: (i: number) => Promise<Record<string, unknown>>) {
  return async (i: number) => {
    const body = await post(i);
    if (body[outcome] !== 1)
      throw new Error(`punch ${i}: expected ${outcome} 1, got ${JSON.stringify(body)}`);
  };
}

/** How a one-route app stores a validated punch: by the floor's hand item, or by the design's. */
type StorePunch = (sn: string, record: AttendanceRecord, emqxId: string) => Promise<boolean>;

/**
 * The one-route app with what every handler of the bridge must do before storing: the bearer check and
 * the rule event's and the punch's schemas (the same valibot schemas the ingest uses), then `store`'s
 * requests. What lies between it and the ingest app is the rest of our edge and the domain's own checks.
 */
function oneRouteCheckedHono(store: StorePunch): Hono {
  const app = new Hono();
  app.post(RULE_EVENTS_PATH, bearerAuth([INGEST_TOKEN]), async (c) => {
    const event = v.parse(EmqxRuleEvent, await c.req.json());
    if (event.event !== "message.publish") return c.json({ result: "ignored" });
    const record = v.parse(AttendanceRecord, JSON.parse(event.payload));
    const stored = await store(event.clientid, record, event.id);
    return c.json({ result: "attendance", stored: stored ? 1 : 0, duplicates: stored ? 0 : 1 });
  });
  return app;
}

/**
 * A one-route Hono app that reads the rule event (no validation) and makes the floor's requests: what
 * any Hono handler pays in-process for its `Request` and `Response`, before any work of ours.
 */
function oneRouteHono(floor: ReturnType<typeof floorCalls>): Hono {
  const app = new Hono();
  app.post(RULE_EVENTS_PATH, async (c) => {
    const event = await c.req.json<{ topic: string; payload: string }>();
    const sn = event.topic.split("/")[3] as string;
    const stored = await floor.storePunch(sn, JSON.parse(event.payload) as RawPunch);
    return c.json({ result: "attendance", stored: stored ? 1 : 0, duplicates: stored ? 0 : 1 });
  });
  return app;
}
