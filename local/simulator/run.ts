import { randomBytes } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { mapWithConcurrency } from "../../functions/core/concurrency.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { type CommandRun, percentiles, runCommands } from "./commands.ts";
import { planPunches, SimulatedDevice } from "./device.ts";
import { progressBar } from "./progress.ts";
import { countFannedOut, countStored } from "./readback.ts";

export interface SimulationOptions {
  devices: number;
  punches: number;
  dupRate: number;
  mqttUrl: string;
  /** The fleet secret devices' tokens derive from (the broker authenticates them); unset: no password. */
  deviceTokenSecret?: string;
  tableName: string;
  eventsQueue: string;
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient };
  /** How long to wait for the pipeline to catch up after the last PUBACK. */
  settleTimeoutMs?: number;
  quiet?: boolean;
  /** Also send this many commands per device through the command API and follow them to the end. */
  commands?: { perDevice: number; api: { url: string; key: string } };
}

export interface SimulationReport {
  runId: string;
  devices: number;
  sent: number;
  duplicatesSent: number;
  unique: number;
  stored: number;
  fannedOut: number;
  publishSeconds: number;
  settleSeconds: number;
  commands?: CommandRun;
}

/** Runs a fleet of simulated terminals against a running stack and reads the outcome back. */
export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const runId = randomBytes(2).toString("hex");
  const devices = Array.from({ length: options.devices }, (_, i) =>
    simulatedDevice(`SIM-${runId}-${String(i + 1).padStart(3, "0")}`, options),
  );
  const plans = new Map(devices.map((d) => [d.sn, planPunches(d.sn, options.punches, options.dupRate)]));
  const unique = options.devices * options.punches;
  const silent = () => undefined;
  const publishProgress = options.quiet ? silent : progressBar("publishing", unique);
  const started = Date.now();
  await mapWithConcurrency(devices, 50, (device) => device.connect());
  let done = 0;
  let sent = 0;
  await mapWithConcurrency(devices, 50, async (device) => {
    for (const plan of plans.get(device.sn) ?? []) {
      const published = await device.punch(plan);
      sent += published;
      publishProgress(++done);
    }
  });
  const publishSeconds = (Date.now() - started) / 1000;
  const settled = Date.now();
  const sns = devices.map((d) => d.sn);
  const stored = await waitForStored(options, sns, unique);
  const fannedOut = await countFannedOut(options.clients.sqs, options.eventsQueue, new Set(sns));
  const settleSeconds = (Date.now() - settled) / 1000;
  const commands = options.commands
    ? await runCommands(
        options.commands.api,
        devices,
        options.commands.perDevice,
        60_000,
        options.quiet ? undefined : progressBar("commands  ", devices.length * options.commands.perDevice),
      )
    : undefined;
  await mapWithConcurrency(devices, 50, (device) => device.disconnect());
  return {
    runId,
    devices: options.devices,
    sent,
    duplicatesSent: sent - unique,
    unique,
    stored,
    fannedOut,
    publishSeconds,
    settleSeconds,
    ...(commands ? { commands } : {}),
  };
}

function simulatedDevice(sn: string, options: SimulationOptions): SimulatedDevice {
  const secret = options.deviceTokenSecret;
  return new SimulatedDevice(sn, options.mqttUrl, secret ? deriveDeviceToken(secret, sn) : undefined);
}

async function waitForStored(options: SimulationOptions, sns: string[], unique: number): Promise<number> {
  const progress = options.quiet ? () => undefined : progressBar("stored    ", unique);
  const deadline = Date.now() + (options.settleTimeoutMs ?? 60_000);
  let stored = 0;
  while (Date.now() < deadline) {
    stored = await countStored(options.clients.dynamodb, options.tableName, sns);
    progress(Math.min(stored, unique));
    if (stored >= unique) return stored;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return stored;
}

/** The report as a table, with the check the issue asks for. */
export function formatReport(report: SimulationReport): string {
  const ok = report.stored === report.unique && report.fannedOut === report.unique;
  const rows: Array<[string, string | number]> = [
    ["run", report.runId],
    ["devices", report.devices],
    ["punches sent (incl. duplicates)", report.sent],
    ["duplicates sent", report.duplicatesSent],
    ["unique punches", report.unique],
    ["stored in DynamoDB", report.stored],
    ["fanned out to SQS", report.fannedOut],
    ["publish time (s)", report.publishSeconds.toFixed(2)],
    ["publish rate (msg/s)", (report.sent / Math.max(report.publishSeconds, 0.001)).toFixed(0)],
    ["settle time (s)", report.settleSeconds.toFixed(2)],
  ];
  if (report.commands) rows.push(...commandRows(report.commands));
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `| ${k.padEnd(width)} | ${String(v).padStart(10)} |`);
  const rule = `|${"-".repeat(width + 2)}|${"-".repeat(12)}|`;
  const commandsOk = !report.commands || report.commands.byStatus["not final"] === undefined;
  const verdict =
    ok && commandsOk
      ? "OK: stored = fanned out = unique punches sent"
      : "MISMATCH: stored, fanned out and unique punches differ, or a command did not finish";
  return [rule, ...lines, rule, verdict].join("\n");
}

function commandRows(run: CommandRun): Array<[string, string | number]> {
  const { p50, p95, max } = percentiles(run.latenciesMs);
  return [
    ["commands sent (API)", run.sent],
    ...Object.entries(run.byStatus).map(([status, n]) => [`commands ${status}`, n] as [string, number]),
    ["devices that got commands in order", run.inOrder],
    ["command latency p50 (ms)", p50],
    ["command latency p95 (ms)", p95],
    ["command latency max (ms)", max],
  ];
}
