import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { mapWithConcurrency } from "../../functions/core/concurrency.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { type JsonObject, mergePatch } from "../../functions/core/shadow/document.ts";
import { deviceTopic } from "../../functions/core/topics.ts";
import { localDeviceToken } from "./credentials.ts";

/** The API as the shadow simulation calls it. */
interface Api {
  url: string;
  key: string;
}

/**
 * A terminal that keeps a shadow: it subscribes to its `shadow/delta`, applies a delta only when its
 * version is newer than the last one it applied (an older one never undoes a newer one), and reports
 * what it applied on `shadow/update`.
 */
export class ShadowDevice {
  private client?: MqttClient;
  /** What the device holds, as it reports it. */
  state: JsonObject = {};
  appliedVersion = 0;
  received = 0;
  stale = 0;
  /** When a delta of at least this version was applied (ms since the epoch), per version asked about. */
  readonly appliedAt = new Map<number, number>();

  constructor(
    readonly sn: string,
    private readonly mqttUrl: string,
    private readonly token: string | undefined,
  ) {}

  async connect(): Promise<void> {
    this.client = await mqtt.connectAsync(this.mqttUrl, {
      clientId: this.sn,
      ...(this.token === undefined ? {} : { username: this.sn, password: this.token }),
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
    });
    this.client.on("message", (_topic, payload) => void this.onDelta(payload));
    // Subscribed before "online": the bridge re-sends the pending delta when it sees the device online.
    await this.client.subscribeAsync(deviceTopic(this.sn, "shadow/delta"), { qos: 1 });
    await this.client.publishAsync(deviceTopic(this.sn, "st"), '{"online":true}', { qos: 1 });
  }

  private async onDelta(payload: Buffer): Promise<void> {
    const delta = parseDelta(payload);
    if (!delta) return;
    this.received++;
    if (delta.version <= this.appliedVersion) {
      this.stale++;
      return;
    }
    this.appliedVersion = delta.version;
    this.state = mergePatch(this.state, delta.state, {}, "");
    this.appliedAt.set(delta.version, Date.now());
    const report = JSON.stringify({ reported: delta.state });
    await this.client?.publishAsync(deviceTopic(this.sn, "shadow/update"), report, { qos: 1 });
  }

  async disconnect(): Promise<void> {
    await this.client?.endAsync();
  }
}

function parseDelta(payload: Buffer): { version: number; state: JsonObject } | undefined {
  try {
    const body = JSON.parse(payload.toString()) as { version?: unknown; state?: unknown };
    if (typeof body.version !== "number" || typeof body.state !== "object" || body.state === null)
      return undefined;
    return { version: body.version, state: body.state as JsonObject };
  } catch {
    return undefined;
  }
}

export interface ShadowRunOptions {
  devices: number;
  mqttUrl: string;
  api: Api;
  deviceTokenSecret?: string;
  timeoutMs?: number;
}

export interface ShadowRow {
  sn: string;
  version: number;
  received: number;
  stale: number;
  inSync: boolean;
  /** From the online desired change to the device applying it. */
  applyMs?: number;
}

export interface ShadowRun {
  rows: ShadowRow[];
  /** Offline deltas superseded before the devices connected (each device's first delta command). */
  superseded: number;
  seconds: number;
}

/**
 * `npm run sim -- --shadow`: desired state set twice while the devices are offline (the first delta is
 * superseded), the devices connect and get only the newest delta, apply and report it; then one more
 * desired change while they are online. Ends when every shadow's delta is empty, or at the timeout.
 */
export async function runShadowSimulation(options: ShadowRunOptions): Promise<ShadowRun> {
  const started = Date.now();
  const tag = randomBytes(3).toString("hex");
  const sns = Array.from({ length: options.devices }, (_, i) => `SHSIM-${tag}-${i}`);
  const call = apiCaller(options.api);
  // No expected version: a change retried after a 503 may have landed already, and would answer 409.
  await mapWithConcurrency(sns, 10, async (sn, i) => {
    await call("PATCH", `/v1/devices/${sn}/shadow`, { desired: { volume: i % 10, firmware: "1.4.0" } });
    await call("PATCH", `/v1/devices/${sn}/shadow`, { desired: { firmware: "1.4.1" } });
  });
  const devices = sns.map((sn) => new ShadowDevice(sn, options.mqttUrl, tokenOf(options, sn)));
  try {
    await mapWithConcurrency(devices, 50, (device) => device.connect());
    const asked = new Map<string, { at: number; version: number }>();
    await mapWithConcurrency(devices, 10, async (device, i) => {
      const at = Date.now();
      const answer = await call("PATCH", `/v1/devices/${device.sn}/shadow`, {
        desired: { volume: (i + 1) % 10 },
      });
      asked.set(device.sn, { at, version: Number((answer.shadow as { version: number }).version) });
    });
    const shadows = await untilInSync(call, sns, options.timeoutMs ?? 60_000);
    const superseded = await countSuperseded(call, sns);
    const rows = devices.map((device) => row(device, shadows.get(device.sn), asked.get(device.sn)));
    return { rows, superseded, seconds: (Date.now() - started) / 1000 };
  } finally {
    await Promise.all(devices.map((device) => device.disconnect().catch(() => undefined)));
  }
}

function row(
  device: ShadowDevice,
  shadow: Shadow | undefined,
  asked?: { at: number; version: number },
): ShadowRow {
  const appliedAt = asked
    ? [...device.appliedAt].find(([version]) => version >= asked.version)?.[1]
    : undefined;
  return {
    sn: device.sn,
    version: shadow?.version ?? 0,
    received: device.received,
    stale: device.stale,
    inSync: shadow !== undefined && Object.keys(shadow.delta).length === 0,
    ...(appliedAt !== undefined && asked ? { applyMs: appliedAt - asked.at } : {}),
  };
}

interface Shadow {
  version: number;
  delta: JsonObject;
}

async function untilInSync(call: Caller, sns: string[], timeoutMs: number): Promise<Map<string, Shadow>> {
  const deadline = Date.now() + timeoutMs;
  const shadows = new Map<string, Shadow>();
  for (;;) {
    await mapWithConcurrency(sns, 20, async (sn) => {
      shadows.set(sn, (await call("GET", `/v1/devices/${sn}/shadow`)).shadow as Shadow);
    });
    const behind = [...shadows.values()].filter((s) => Object.keys(s.delta).length > 0).length;
    if (behind === 0 || Date.now() > deadline) return shadows;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function countSuperseded(call: Caller, sns: string[]): Promise<number> {
  const statuses = await mapWithConcurrency(sns, 20, async (sn) => {
    const answer = await call("GET", `/v1/devices/${sn}/commands/shadow-delta-1`);
    return (answer.command as { status?: string } | undefined)?.status;
  });
  return statuses.filter((status) => status === "expired").length;
}

type Caller = (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;

/** Calls the API; a 503 (the API's deadline on a loaded machine) is retried after its Retry-After. */
function apiCaller(api: Api): Caller {
  return async (method, path, body) => {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(`${api.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${api.key}`,
          ...(body ? { "content-type": "application/json" } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const answer = (await response.json()) as Record<string, unknown>;
      if (response.status === 503 && attempt < 5) {
        await new Promise((resolve) =>
          setTimeout(resolve, 1000 * Number(response.headers.get("retry-after") ?? 1)),
        );
        continue;
      }
      if (response.status >= 400 && response.status !== 404)
        throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
      return answer;
    }
  };
}

function tokenOf(options: ShadowRunOptions, sn: string): string | undefined {
  if (options.deviceTokenSecret) return deriveDeviceToken(options.deviceTokenSecret, sn);
  return localDeviceToken(options.mqttUrl, sn);
}

/** The run as a table: one line per device (the first 20), then the totals. */
export function formatShadowReport(run: ShadowRun): string {
  const header = "| device | version | deltas received | stale dropped | in sync | desired→applied ms |";
  const rule = "|--------|---------|-----------------|---------------|---------|--------------------|";
  const lines = run.rows
    .slice(0, 20)
    .map(
      (r) =>
        `| ${r.sn} | ${r.version} | ${r.received} | ${r.stale} | ${r.inSync ? "yes" : "NO"} | ${r.applyMs ?? "-"} |`,
    );
  const times = run.rows.flatMap((r) => (r.applyMs === undefined ? [] : [r.applyMs])).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const totals = [
    `devices in sync: ${run.rows.filter((r) => r.inSync).length}/${run.rows.length}`,
    `offline deltas superseded before connect: ${run.superseded}`,
    `deltas received: ${run.rows.reduce((n, r) => n + r.received, 0)} (stale dropped: ${run.rows.reduce((n, r) => n + r.stale, 0)})`,
    `desired→applied while online: median ${median ?? "-"} ms, max ${times.at(-1) ?? "-"} ms`,
    `time: ${run.seconds.toFixed(1)} s`,
  ];
  return [header, rule, ...lines, ...(run.rows.length > 20 ? ["| … |"] : []), "", ...totals].join("\n");
}
