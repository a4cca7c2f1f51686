import { SimulatedDevice } from "../../local/simulator/device.ts";
import { progressBar } from "../../local/simulator/progress.ts";
import { type SoakStack, startSoakStack } from "../support/soak-stack.ts";
import { commandFindings, commandStatus, drainFannedOut, type Findings, punchFindings } from "./check.ts";
import { type FaultPlan, startFaults } from "./faults.ts";
import { newSent, pause, type Sent, sendCommands, sendPunches } from "./traffic.ts";

export interface SoakOptions {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  devices: number;
  punchesPerDevice: number;
  commandsPerDevice: number;
  dupRate: number;
  punchesPerSecond: number;
  faults: FaultPlan;
  /** Cap of the commands queue's redelivery backoff (s): the receive budget is about 10 × this. */
  maxBackoffSeconds: number;
  requestTtlMs: number;
  /** How long, after the last fault is healed, everything may take to arrive. */
  settleMs: number;
  progress?: boolean;
}

export interface SoakReport extends Findings {
  faults: Record<string, number>;
  punchesSent: number;
  duplicatesSent: number;
  uniquePunches: number;
  commandsSent: number;
  emqx: Record<string, number>;
  seconds: number;
  /** When the last punch was published and the last command accepted, from the start. */
  sendSeconds: { punches: number; commands: number };
  settleSeconds: number;
}

/** Punches and commands through the whole stack while faults come and go; then counts what got through. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const stack = await startSoakStack(options);
  const devices: SimulatedDevice[] = [];
  try {
    for (let i = 0; i < options.devices; i++)
      devices.push(new SimulatedDevice(`SOAK${String(i).padStart(4, "0")}`, stack.mqttUrl));
    await Promise.all(devices.map((d) => d.connect()));
    const api = { url: stack.apiUrl, key: stack.apiKey };
    const total = options.devices * (options.punchesPerDevice + options.commandsPerDevice);
    const bar = options.progress ? progressBar("soak", total) : undefined;
    const faults = startFaults(stack, options.faults);
    let done = 0;
    const tick = () => bar?.(++done, `fault: ${faults.current()}`);
    const started = Date.now();
    const sent = newSent();
    const spreadMs = (options.punchesPerDevice * options.devices * 1000) / options.punchesPerSecond;
    const took = (work: Promise<void>) => work.then(() => (Date.now() - started) / 1000);
    // Commands go out over the first half of the punches, so they all meet faults; the faults end with
    // the punches, and commands still being retried then finish in calm.
    const commandsDone = took(
      sendCommands(api, devices, options.commandsPerDevice, spreadMs / 2, sent, tick),
    );
    commandsDone.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    const punchSeconds = await took(
      sendPunches(devices, options.punchesPerDevice, options.dupRate, options.punchesPerSecond, sent, tick),
    );
    await faults.stop();
    const commandSeconds = await commandsDone;
    const sentAt = Date.now();
    const fannedOut = await settle(stack, api, sent, options.settleMs);
    const settleSeconds = (Date.now() - sentAt) / 1000;
    const punches = await punchFindings(stack, sent, fannedOut);
    const commands = await commandFindings(api, devices, sent);
    return {
      ...punches,
      ...commands,
      faults: faults.counts,
      punchesSent: sent.punches,
      duplicatesSent: sent.duplicates,
      uniquePunches: [...sent.unique.values()].reduce((n, s) => n + s.size, 0),
      commandsSent: [...sent.commands.values()].reduce((n, ids) => n + ids.length, 0),
      emqx: { ...stack.emqx.metrics() },
      seconds: (Date.now() - started) / 1000,
      sendSeconds: { punches: punchSeconds, commands: commandSeconds },
      settleSeconds,
    };
  } finally {
    for (const device of devices) await device.disconnect().catch(() => undefined);
    await stack.stop();
  }
}

/**
 * Waits until EMQX has nothing left to deliver, every punch is fanned out and every command is final,
 * or `settleMs` passes (what is still missing then is reported as lost). Returns the fanned-out eventIds.
 */
async function settle(
  stack: SoakStack,
  api: { url: string; key: string },
  sent: Sent,
  settleMs: number,
): Promise<Set<string>> {
  const deadline = Date.now() + settleMs;
  const fannedOut = new Set<string>();
  await Promise.race([stack.emqx.idle(), pause(settleMs)]);
  while (Date.now() < deadline) {
    await drainFannedOut(stack, fannedOut);
    const punches = await punchFindings(stack, sent, fannedOut);
    if (punches.lost === 0 && punches.notFannedOut === 0 && (await commandsFinal(api, sent))) break;
    await pause(1_000);
  }
  await drainFannedOut(stack, fannedOut);
  return fannedOut;
}

const FINAL = new Set(["acked", "failed", "expired"]);

async function commandsFinal(api: { url: string; key: string }, sent: Sent): Promise<boolean> {
  for (const [sn, ids] of sent.commands) {
    // Per device, commands finish in order: the last one final means the device is done.
    const last = ids.at(-1);
    if (last && !FINAL.has(await commandStatus(api, sn, last))) return false;
  }
  return true;
}

/** The table printed at the end: faults, events, and the counts that must all be 0. */
export function formatSoakReport(report: SoakReport): string {
  const faults = Object.entries(report.faults).map(([name, n]) => [`  fault: ${name}`, n] as const);
  const rows: Array<readonly [string, string | number]> = [
    ["faults injected", Object.values(report.faults).reduce((a, b) => a + b, 0)],
    ...faults,
    ["events: punches sent (with duplicates)", report.punchesSent],
    ["events: duplicates sent", report.duplicatesSent],
    ["events: unique punches", report.uniquePunches],
    ["events: commands sent", report.commandsSent],
    ["stored punches", report.stored],
    ["commands acked", report.commandsAcked],
    ["LOST punches", report.lost],
    ["STORED TWICE", report.storedTwice],
    ["STORED NOT FANNED OUT", report.notFannedOut],
    ["COMMANDS LOST (not acked)", report.commandsLost],
    ["DEVICES WITH COMMANDS OUT OF ORDER", report.outOfOrder],
    ["command statuses", JSON.stringify(report.commandStatuses)],
    [
      "emqx stand-in",
      `retried ${report.emqx.retried}, dropped expired ${report.emqx.droppedExpired}, failed ${report.emqx.failed}`,
    ],
    [
      "punches sent by / commands sent by (s)",
      `${report.sendSeconds.punches.toFixed(0)} / ${report.sendSeconds.commands.toFixed(0)}`,
    ],
    ["run / settle (s)", `${report.seconds.toFixed(0)} / ${report.settleSeconds.toFixed(0)}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const valueWidth = Math.max(...rows.map(([, v]) => String(v).length));
  const rule = `|${"-".repeat(width + 2)}|${"-".repeat(valueWidth + 2)}|`;
  return [
    rule,
    ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${String(v).padStart(valueWidth)} |`),
    rule,
  ].join("\n");
}

/** Everything the soak promises: nothing lost, stored twice, left unsent, or reordered. */
export const soakPassed = (r: SoakReport) =>
  r.lost === 0 && r.storedTwice === 0 && r.notFannedOut === 0 && r.commandsLost === 0 && r.outOfOrder === 0;
