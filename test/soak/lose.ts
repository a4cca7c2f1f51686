import { randomBytes } from "node:crypto";
import type { GapConfig, GapTracker } from "../../functions/core/gaps/types.ts";
import { SimulatedDevice } from "../../local/simulator/device.ts";
import { answerFromLog, DeviceLog, type LogAnswers } from "../../local/simulator/device-log.ts";
import { type LocalStack, startLocalStack } from "../../local/stack.ts";
import { countDynamoDbWrites, type WriteCounts } from "./write-counter.ts";

export interface LoseSoakOptions {
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
  devices: number;
  punchesPerDevice: number;
  /** Share of device publishes on `evt` the EMQX stand-in drops, 0..1. */
  lose: number;
  /** Share of devices whose counter is reset (new epoch) halfway. */
  resetShare: number;
  /** Share of devices whose clock is off, by `skewMs` either way. */
  skewShare: number;
  skewMs: number;
  punchesPerSecond: number;
  heartbeatMs: number;
  /** The tracker's pass interval and compressed settings (grace, backoff). */
  trackerIntervalMs: number;
  tracker: Partial<GapConfig>;
  /** Give up waiting for every punch after this long past the traffic. */
  settleMs: number;
  progress?: boolean;
}

export interface LoseSoakReport {
  devices: number;
  made: number;
  droppedInTransit: number;
  stored: number;
  recoveredByBackfill: number;
  stillMissing: number;
  falseGaps: number;
  /** Announced gaps none of whose numbers was dropped: punches still on their way when the grace ended. */
  lateGaps: number;
  /** Announced gaps by how many resend attempts they took. */
  attempts: Record<string, number>;
  /** What the EMQX stand-in itself lost or retried: requests past `request_ttl` (a slow ingest) and late replies. */
  emqx: { expired: number; lateReplies: number; retried: number };
  gapsOpened: number;
  unrecoverable: number;
  setTimeSent: number;
  clockDriftEvents: number;
  resendAnswered: number;
  /** Commands the tracker sent, by op, and its writes by why they were made. */
  commandsByOp: Record<string, number>;
  trackerWritesFor: Record<string, number>;
  writes: WriteCounts;
  writesPerPunch: number;
  /** Today's cost of a punch: one PutItem per new punch (issue 9's floor). */
  todayWritesPerPunch: number;
  settledInMs: number;
}

interface SimDevice {
  device: SimulatedDevice;
  log: DeviceLog;
}

/** How long before a gap opened a punch must have been stored to make the gap false (see falseGaps). */
const STORED_MARGIN_MS = 2_000;

const key = (sn: string, epoch: string, seq: number) => `${sn}/${epoch}/${seq}`;

/**
 * `npm run soak -- --lose 5%`: devices with numbered punch logs publish through the EMQX stand-in, which
 * drops a share of them after acking (an overflowing buffer); some devices reset their counter, some run a
 * skewed clock. The gap tracker must find every loss, have it resent, and set the skewed clocks, with no
 * false gap. Counts every DynamoDB write for the writes-per-punch figure.
 */
export async function runLoseSoak(options: LoseSoakOptions): Promise<LoseSoakReport> {
  const dropped = new Set<string>();
  const writes = countDynamoDbWrites();
  const say = (line: string) => options.progress && console.error(line);
  const stack = await startLocalStack({
    ...(options.dynamodbEndpoint ? { dynamodbEndpoint: options.dynamodbEndpoint } : {}),
    ...(options.sqsEndpoint ? { sqsEndpoint: options.sqsEndpoint } : {}),
    tableName: `lose-${randomBytes(4).toString("hex")}`,
    eventsQueue: `lose-events-${randomBytes(4).toString("hex")}`,
    commandsQueue: `lose-commands-${randomBytes(4).toString("hex")}`,
    logLevel: "SILENT",
    log: () => undefined,
    // Logins are not what this soak is about (the e2e suite covers them); every client may connect.
    brokerAuthentication: false,
    gapTracker: { intervalMs: options.trackerIntervalMs, config: options.tracker },
    // EMQX gives up on a request before the grace period ends, as in production (10 min < 15 min).
    emqxTiming: {
      requestTtlMs: Math.max(1_000, (options.tracker.graceMs ?? 900_000) - 1_000),
      resumeIntervalMs: 200,
    },
    dropPublish: (topic, payload) => {
      if (!topic.endsWith("/evt") || Math.random() >= options.lose) return false;
      for (const record of recordsOf(payload))
        dropped.add(key(topic.split("/")[3] ?? "", record.seq_epoch, record.seq));
      return true;
    },
  });
  const answers: LogAnswers = { resent: 0, uploaded: 0, setTime: 0 };
  const started = Date.now();
  try {
    const fleet = await connectFleet(stack, options, answers);
    const beating = heartbeats(fleet, options.heartbeatMs);
    await punchAll(fleet, options, say);
    say(
      `soak --lose: traffic done (${fleet.length * options.punchesPerDevice} punches, ${dropped.size} dropped); waiting for backfill`,
    );
    const trafficEnd = Date.now();
    const result = await settle(stack, fleet, options.settleMs, say);
    beating.stop();
    await Promise.all(fleet.map(({ device }) => device.disconnect()));
    return report(fleet, dropped, result, answers, stack, writes.counts, Date.now() - trafficEnd, started);
  } finally {
    writes.stop();
    await stack.stop();
  }
}

function recordsOf(payload: Buffer): Array<{ seq: number; seq_epoch: string }> {
  try {
    const parsed = JSON.parse(payload.toString()) as unknown;
    return (Array.isArray(parsed) ? parsed : [parsed]).filter((r) => typeof r?.seq === "number");
  } catch {
    return [];
  }
}

async function connectFleet(
  stack: LocalStack,
  options: LoseSoakOptions,
  answers: LogAnswers,
): Promise<SimDevice[]> {
  const run = randomBytes(2).toString("hex");
  const fleet: SimDevice[] = [];
  for (let i = 0; i < options.devices; i++) {
    const sn = `LOSE${run}${String(i).padStart(4, "0")}`;
    const skewed = i < Math.round(options.devices * options.skewShare);
    const log = new DeviceLog(sn, "boot-1", skewed ? (i % 2 ? 1 : -1) * options.skewMs : 0);
    const device = new SimulatedDevice(sn, stack.endpoints.mqtt);
    answerFromLog(device, log, answers);
    fleet.push({ device, log });
  }
  for (let i = 0; i < fleet.length; i += 25)
    await Promise.all(fleet.slice(i, i + 25).map(({ device }) => device.connect()));
  return fleet;
}

function heartbeats(fleet: SimDevice[], everyMs: number) {
  const timer = setInterval(() => {
    for (const { device, log } of fleet) void device.publish("st", log.heartbeat()).catch(() => undefined);
  }, everyMs);
  return { stop: () => clearInterval(timer) };
}

/** Round-robin over the fleet at the given rate; resets the counters of the chosen share halfway. */
async function punchAll(fleet: SimDevice[], options: LoseSoakOptions, say: (line: string) => void) {
  const total = fleet.length * options.punchesPerDevice;
  const resetUpTo = Math.round(fleet.length * options.resetShare);
  const gapMs = 1000 / options.punchesPerSecond;
  const start = Date.now();
  for (let n = 0; n < total; n++) {
    const index = n % fleet.length;
    const round = Math.floor(n / fleet.length);
    const { device, log } = fleet[index] as SimDevice;
    // Reset devices at the far end of the fleet, so resets and skews fall on different devices.
    if (round === Math.floor(options.punchesPerDevice / 2) && fleet.length - 1 - index < resetUpTo)
      log.resetCounter("boot-2");
    const punch = log.punch(String(1000 + (n % 89)), round % 2);
    void device.publish("evt", JSON.stringify(punch)).catch(() => undefined);
    const due = start + (n + 1) * gapMs;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    if (n % 1000 === 999) say(`soak --lose: ${n + 1}/${total} punches`);
  }
}

interface Settled {
  storedKeys: Set<string>;
  /** When each stored punch was received. */
  receivedAt: Map<string, string>;
  trackers: GapTracker[];
}

/** Polls what is stored until every punch made is, and no gap is left unresolved, or the time is up. */
async function settle(
  stack: LocalStack,
  fleet: SimDevice[],
  settleMs: number,
  say: (line: string) => void,
): Promise<Settled> {
  const deadline = Date.now() + settleMs;
  const made = new Set(
    fleet.flatMap(({ device, log }) => log.entries.map((p) => key(device.sn, p.seq_epoch, p.seq))),
  );
  let last: Settled = { storedKeys: new Set(), receivedAt: new Map(), trackers: [] };
  while (Date.now() < deadline) {
    last = await readState(stack, fleet);
    const missing = [...made].filter((k) => !last.storedKeys.has(k)).length;
    const unresolved = last.trackers.flatMap((t) => t.gaps).filter((g) => g.status !== "closed").length;
    say(`soak --lose: ${missing} punches missing, ${unresolved} gaps unresolved`);
    if (missing === 0 && unresolved === 0) return last;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  return last;
}

async function readState(stack: LocalStack, fleet: SimDevice[]): Promise<Settled> {
  const store = stack.gaps?.store;
  if (!store) throw new Error("the soak needs the gap tracker");
  const storedKeys = new Set<string>();
  const receivedAt = new Map<string, string>();
  const trackers: GapTracker[] = [];
  for (const { device } of fleet) {
    for (const punch of await store.read(device.sn, [{}])) {
      if (punch.seq === undefined) continue;
      storedKeys.add(key(device.sn, punch.epoch, punch.seq));
      receivedAt.set(key(device.sn, punch.epoch, punch.seq), punch.receivedAt);
    }
    const tracker = await store.get(device.sn);
    if (tracker) trackers.push(tracker);
  }
  return { storedKeys, receivedAt, trackers };
}

function report(
  fleet: SimDevice[],
  dropped: Set<string>,
  settled: Settled,
  answers: LogAnswers,
  stack: LocalStack,
  writes: WriteCounts,
  settledInMs: number,
  _started: number,
): LoseSoakReport {
  const made = fleet.flatMap(({ device, log }) => log.entries.map((p) => key(device.sn, p.seq_epoch, p.seq)));
  const stored = made.filter((k) => settled.storedKeys.has(k));
  const droppedMade = made.filter((k) => dropped.has(k));
  const gaps = settled.trackers.flatMap((t) => t.gaps.map((g) => ({ sn: t.sn, gap: g })));
  const announced = gaps.filter(({ gap }) => gap.openedAt !== undefined);
  // A false gap: announced while every one of its numbers was already stored. A punch's `receivedAt` is
  // the ingest's clock just before its put; a put still in flight on a loaded machine (DynamoDB Local
  // answering in seconds) is not readable yet, so "already stored" means for STORED_MARGIN_MS before.
  const falseGaps = announced.filter(({ sn, gap }) => {
    const openedAt = Date.parse(gap.openedAt ?? "");
    for (let n = gap.from; n <= gap.to; n++) {
      const at = settled.receivedAt.get(key(sn, gap.epoch, n));
      if (!at || Date.parse(at) >= openedAt - STORED_MARGIN_MS) return false;
    }
    return true;
  });
  // Presence writes (connects, heartbeats) are per device and minute, not per punch: shown apart.
  const totalWrites = writes.attendance + writes.tracker + writes.suspect + writes.commands;
  return {
    devices: fleet.length,
    made: made.length,
    droppedInTransit: droppedMade.length,
    stored: stored.length,
    recoveredByBackfill: droppedMade.filter((k) => settled.storedKeys.has(k)).length,
    stillMissing: made.length - stored.length,
    falseGaps: falseGaps.length,
    lateGaps: announced.filter(
      ({ sn, gap }) => !numbersOf(gap).some((n) => dropped.has(key(sn, gap.epoch, n))),
    ).length,
    gapsOpened: stack.gaps?.totals.byType.GapsOpened ?? 0,
    unrecoverable: gaps.filter(({ gap }) => gap.status === "unrecoverable").length,
    setTimeSent: answers.setTime,
    clockDriftEvents: stack.gaps?.totals.byType.ClockDrift ?? 0,
    resendAnswered: answers.resent,
    commandsByOp: { ...stack.gaps?.totals.commandsByOp },
    attempts: tally(announced.map(({ gap }) => String(gap.attempts))),
    emqx: emqxFigures(stack),
    trackerWritesFor: { ...stack.gaps?.totals.writesFor },
    writes,
    writesPerPunch: totalWrites / made.length,
    todayWritesPerPunch: 1,
    settledInMs,
  };
}

export function formatLoseReport(r: LoseSoakReport): string {
  const rows: Array<[string, string]> = [
    ["devices", String(r.devices)],
    ["punches made on devices", String(r.made)],
    ["dropped in transit", String(r.droppedInTransit)],
    ["stored", String(r.stored)],
    ["recovered by backfill", String(r.recoveredByBackfill)],
    ["still missing (goal 0)", String(r.stillMissing)],
    ["false gaps (goal 0)", String(r.falseGaps)],
    ["gaps opened for punches not dropped here (expired or late)", String(r.lateGaps)],
    [
      "EMQX stand-in: expired (request_ttl) / late replies / retried",
      `${r.emqx.expired} / ${r.emqx.lateReplies} / ${r.emqx.retried}`,
    ],
    ["gaps opened / unrecoverable", `${r.gapsOpened} / ${r.unrecoverable}`],
    ["punches resent by devices", String(r.resendAnswered)],
    ["clock_drift events / set_time applied", `${r.clockDriftEvents} / ${r.setTimeSent}`],
    ["DynamoDB writes per punch made", r.writesPerPunch.toFixed(3)],
    [
      "  of which punches / tracker / commands / suspect / other",
      `${r.writes.attendance} / ${r.writes.tracker} / ${r.writes.commands} / ${r.writes.suspect} / ${r.writes.other}`,
    ],
    ["  tracker writes by reason", counts(r.trackerWritesFor)],
    ["  commands sent by the tracker", counts(r.commandsByOp)],
    ["  announced gaps by resend attempts", counts(r.attempts)],
    ["  writes per command", perCommand(r)],
    ["today's writes per new punch", r.todayWritesPerPunch.toFixed(3)],
    ["ratio (goal ≤ 1.1)", (r.writesPerPunch / r.todayWritesPerPunch).toFixed(3)],
    ["settled after traffic (s)", (r.settledInMs / 1000).toFixed(1)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    "| figure | value |",
    "|---|---|",
    ...rows.map(([name, value]) => `| ${name.padEnd(width)} | ${value} |`),
  ].join("\n");
}

const counts = (byName: Record<string, number>) =>
  Object.entries(byName)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${n}`)
    .join(", ") || "none";

function perCommand(r: LoseSoakReport): string {
  const sent = Object.values(r.commandsByOp).reduce((sum, n) => sum + n, 0);
  return sent ? (r.writes.commands / sent).toFixed(2) : "-";
}

const numbersOf = (gap: { from: number; to: number }) =>
  Array.from({ length: gap.to - gap.from + 1 }, (_, i) => gap.from + i);

function emqxFigures(stack: LocalStack) {
  const m = stack.emqx.metrics();
  return { expired: m.droppedExpired, lateReplies: m.lateReply, retried: m.retried };
}

function tally(names: string[]): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const name of names) byName[name] = (byName[name] ?? 0) + 1;
  return byName;
}
