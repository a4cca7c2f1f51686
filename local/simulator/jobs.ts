import { createHash, randomBytes } from "node:crypto";
import { mapWithConcurrency } from "../../functions/core/concurrency.ts";
import { deriveDeviceToken } from "../../functions/core/device-token.ts";
import { SimulatedDevice } from "./device.ts";
import { progressBar } from "./progress.ts";

/** The API as the simulator and the jobs e2e test call it. */
export interface ApiClient {
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

export function apiClient(url: string, key: string): ApiClient {
  return {
    async call(method, path, body) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
  };
}

/**
 * Whether a simulated device refuses jobs (`--fail-percent`): a fixed share of the fleet chosen by a hash
 * of the serial number, so a run is repeatable and the abort test knows its failure rate.
 */
export function failsJobs(sn: string, failPercent: number): boolean {
  if (failPercent <= 0) return false;
  const bucket = createHash("sha256").update(sn).digest().readUInt16BE(0) % 100;
  return bucket < failPercent;
}

/** Connected simulated devices; those `failsJobs` picks answer every op with `ok: false`. */
export async function connectFleet(options: {
  sns: string[];
  mqttUrl: string;
  deviceTokenSecret?: string;
  failPercent?: number;
}): Promise<SimulatedDevice[]> {
  const devices = options.sns.map((sn) => {
    const secret = options.deviceTokenSecret;
    const device = secret
      ? new SimulatedDevice(sn, options.mqttUrl, deriveDeviceToken(secret, sn))
      : new SimulatedDevice(sn, options.mqttUrl);
    if (failsJobs(sn, options.failPercent ?? 0)) device.refuses = () => true;
    return device;
  });
  await mapWithConcurrency(devices, 10, (device) => connectPatiently(device));
  return devices;
}

/** Connects as a real device does: a refused or failed login (a slow, loaded broker) is tried again. */
async function connectPatiently(device: SimulatedDevice, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await device.connect();
      return;
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/** Puts every device in `group` (`PUT /v1/devices/{sn}`). */
export async function joinGroup(api: ApiClient, sns: string[], group: string): Promise<void> {
  await mapWithConcurrency(sns, 10, async (sn) => {
    const answer = await api.call("PUT", `/v1/devices/${sn}`, {
      groups: [group],
      attributes: { simulated: true },
    });
    if (answer.status !== 200) throw new Error(`PUT /v1/devices/${sn} answered ${answer.status}`);
  });
}

export type JobView = {
  id: string;
  status: string;
  reason?: string;
  progress: { created: number; total?: number; fannedOut: boolean };
  counts: Record<string, number>;
  countedAt?: string;
  settledAt?: string;
  updatedAt: string;
};

/**
 * Polls the job until it settled (`settledAt`: its counts are final), or `timeoutMs` passed.
 */
export async function waitForJob(
  api: ApiClient,
  id: string,
  options: { timeoutMs: number; onProgress?: (job: JobView) => void },
): Promise<JobView> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const { body } = await api.call("GET", `/v1/jobs/${id}`);
    const job = body.job as JobView;
    options.onProgress?.(job);
    // The check that found nothing can change any more sets it: final status, every execution counted.
    if (job.settledAt !== undefined || Date.now() > deadline) return job;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface Execution {
  sn: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  reason?: string;
}

/** Every execution of the job (all pages). */
export async function allExecutions(api: ApiClient, id: string, status?: string): Promise<Execution[]> {
  const items: Execution[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({
      limit: "100",
      ...(status ? { status } : {}),
      ...(cursor ? { cursor } : {}),
    });
    const { body } = await api.call("GET", `/v1/jobs/${id}/executions?${query}`);
    items.push(...(body.items as Execution[]));
    cursor = body.cursor as string | undefined;
  } while (cursor);
  return items;
}

export interface JobRunOptions {
  devices: number;
  op: string;
  perMinute?: number;
  failPercent?: number;
  abortPercent?: number;
  mqttUrl: string;
  deviceTokenSecret?: string;
  api: { url: string; key: string };
  timeoutMs?: number;
  quiet?: boolean;
}

export interface JobRun {
  job: JobView;
  byStatus: Record<string, number>;
  devices: number;
  seconds: number;
}

/**
 * `npm run sim -- --job <op>`: connects a fleet, puts it in a fresh group, runs one job on the group and
 * follows it to its end; the devices ack the ops they know and fail the others (and all, for the share
 * `--fail-percent` picks).
 */
export async function runJobSimulation(options: JobRunOptions): Promise<JobRun> {
  const runId = randomBytes(2).toString("hex");
  const sns = Array.from(
    { length: options.devices },
    (_, i) => `JOB-${runId}-${String(i + 1).padStart(4, "0")}`,
  );
  const api = apiClient(options.api.url, options.api.key);
  const fleet = await connectFleet({
    sns,
    mqttUrl: options.mqttUrl,
    ...(options.deviceTokenSecret ? { deviceTokenSecret: options.deviceTokenSecret } : {}),
    failPercent: options.failPercent ?? 0,
  });
  const group = `sim-${runId}`;
  await joinGroup(api, sns, group);
  const started = Date.now();
  const body = {
    id: `sim-${runId}`,
    op: options.op,
    targets: { group },
    ...(options.perMinute ? { rollout: { perMinute: options.perMinute } } : {}),
    ...(options.abortPercent !== undefined
      ? {
          abort: {
            failedPercent: options.abortPercent,
            minExecuted: Math.max(1, Math.ceil(options.devices / 10)),
          },
        }
      : {}),
  };
  const created = await api.call("POST", "/v1/jobs", body);
  if (created.status !== 202)
    throw new Error(`POST /v1/jobs answered ${created.status}: ${JSON.stringify(created.body)}`);
  const progress = options.quiet ? undefined : progressBar("executions", options.devices);
  const job = await waitForJob(api, body.id, {
    timeoutMs: options.timeoutMs ?? 300_000,
    onProgress: (j) => progress?.(j.progress.created, `${j.status} ${JSON.stringify(j.counts)}`),
  });
  const byStatus: Record<string, number> = {};
  for (const execution of await allExecutions(api, body.id)) {
    const status = execution.reason?.startsWith("canceled:") ? "canceled" : execution.status;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }
  await mapWithConcurrency(fleet, 50, (device) => device.disconnect());
  return { job, byStatus, devices: options.devices, seconds: (Date.now() - started) / 1000 };
}

/** The run as a table of execution statuses. */
export function formatJobReport(run: JobRun): string {
  const rows: Array<[string, string | number]> = [
    ["job", run.job.id],
    ["job status", run.job.status],
    ["devices targeted", run.devices],
    ["executions created", run.job.progress.created],
    ...Object.entries(run.byStatus).map(([status, n]) => [`executions ${status}`, n] as [string, number]),
    ["time to the end (s)", run.seconds.toFixed(1)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const rule = `|${"-".repeat(width + 2)}|${"-".repeat(12)}|`;
  const lines = rows.map(([k, v]) => `| ${k.padEnd(width)} | ${String(v).padStart(10)} |`);
  return [rule, ...lines, rule, ...(run.job.reason ? [`reason: ${run.job.reason}`] : [])].join("\n");
}
