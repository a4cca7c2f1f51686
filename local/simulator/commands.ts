import { randomBytes } from "node:crypto";
import type { SimulatedDevice } from "./device.ts";

export interface CommandRun {
  sent: number;
  byStatus: Record<string, number>;
  /** Enqueue (API answer) → final status seen, per command, in ms. */
  latenciesMs: number[];
  /** Devices that received their commands in the order they were sent. */
  inOrder: number;
}

const FINAL = new Set(["acked", "failed", "expired"]);

/**
 * Sends `perDevice` commands to every device through the command API (one unknown op among them, which
 * the device reports as failed), then follows each to a final status.
 */
export async function runCommands(
  api: { url: string; key: string },
  devices: SimulatedDevice[],
  perDevice: number,
  timeoutMs = 60_000,
  progress: (done: number) => void = () => undefined,
): Promise<CommandRun> {
  const started = new Map<string, number>();
  const expected = new Map<string, string[]>();
  const run = randomBytes(3).toString("hex");
  for (const device of devices) {
    const ids: string[] = [];
    for (let i = 0; i < perDevice; i++) {
      const op = i === perDevice - 1 && perDevice > 1 ? "frobnicate" : "sync_user";
      const id = `${device.sn}-${run}-c${i}`;
      await postCommand(api, device.sn, { id, op, data: { n: i }, ttlSeconds: 300 });
      started.set(`${device.sn}/${id}`, Date.now());
      ids.push(id);
    }
    expected.set(device.sn, ids);
  }
  const finished = new Map<string, { status: string; at: number }>();
  const deadline = Date.now() + timeoutMs;
  while (finished.size < started.size && Date.now() < deadline) {
    for (const key of started.keys()) {
      if (finished.has(key)) continue;
      const [sn, id] = key.split("/") as [string, string];
      const command = await getCommand(api, sn, id);
      if (command && FINAL.has(command.status)) finished.set(key, { status: command.status, at: Date.now() });
    }
    progress(finished.size);
    if (finished.size < started.size) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const byStatus: Record<string, number> = {};
  for (const key of started.keys()) {
    const status = finished.get(key)?.status ?? "not final";
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }
  const latenciesMs = [...finished.entries()].map(([key, f]) => f.at - (started.get(key) ?? f.at));
  const inOrder = devices.filter((d) =>
    sameOrder(
      d.received.filter((id) => id.includes(`-${run}-`)),
      expected.get(d.sn) ?? [],
    ),
  ).length;
  return { sent: started.size, byStatus, latenciesMs, inOrder };
}

function sameOrder(received: string[], expected: string[]): boolean {
  const firstSeen = received.filter((id, i) => received.indexOf(id) === i && expected.includes(id));
  return firstSeen.join(",") === expected.join(",");
}

async function postCommand(api: { url: string; key: string }, sn: string, body: Record<string, unknown>) {
  const response = await fetch(`${api.url}/v1/devices/${sn}/commands`, {
    method: "POST",
    headers: { authorization: `Bearer ${api.key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status !== 202)
    throw new Error(`command API answered ${response.status}: ${await response.text()}`);
}

async function getCommand(api: { url: string; key: string }, sn: string, id: string) {
  const response = await fetch(`${api.url}/v1/devices/${sn}/commands/${id}`, {
    headers: { authorization: `Bearer ${api.key}` },
  });
  if (response.status !== 200) return undefined;
  return ((await response.json()) as { command: { status: string } }).command;
}

/** p50 / p95 / max of a list of milliseconds. */
export function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  return { p50: at(50), p95: at(95), max: sorted.at(-1) ?? 0 };
}
