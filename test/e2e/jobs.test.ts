import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SimulatedDevice } from "../../local/simulator/device.ts";
import {
  type ApiClient,
  allExecutions,
  apiClient,
  connectFleet,
  failsJobs,
  joinGroup,
  waitForJob,
} from "../../local/simulator/jobs.ts";
import type { LocalStack } from "../../local/stack.ts";
import { eventually, startTestStack } from "../support/local-stack.ts";
import { uniqueName } from "../support/resources.ts";

const FLEET = 200;
const sns = Array.from({ length: FLEET }, (_, i) => `JOBS-${String(i).padStart(3, "0")}`);
let stack: LocalStack;
let api: ApiClient;
let fleet: SimulatedDevice[] = [];

beforeAll(async () => {
  // Its own commands and jobs queues: another file's stack must not consume this one's messages. Broker
  // authentication is off: 200 logins through the ingest are the broker-auth tests' subject, not this one's.
  stack = await startTestStack({
    brokerAuthentication: false,
    apiKeys: ["e2e-api-key-0123456789abcdef"],
    commandsQueue: uniqueName("commands"),
  });
  api = apiClient(stack.endpoints.api, stack.apiKeys[0] as string);
  fleet = await connectFleet({
    sns,
    mqttUrl: stack.endpoints.mqtt,
    deviceTokenSecret: stack.deviceTokenSecrets[0] as string,
  });
  await joinGroup(api, sns, "fleet");
}, 600_000);
afterAll(async () => {
  for (const device of fleet) await device.disconnect().catch(() => undefined);
  await stack?.stop();
});

const postJob = (body: Record<string, unknown>) => api.call("POST", "/v1/jobs", body);
/** The job once it settled (`settledAt`: its counts are final); fails if it never does. */
async function finished(id: string, timeoutMs = 240_000) {
  const job = await waitForJob(api, id, { timeoutMs });
  expect(job.settledAt, `job ${id} never settled: ${JSON.stringify(job)}`).toBeDefined();
  const open = ["queued", "pending", "sent", "delivered"].reduce((n, s) => n + (job.counts[s] ?? 0), 0);
  expect(open).toBe(0);
  expect(Object.values(job.counts).reduce((n, c) => n + c, 0)).toBe(job.progress.created);
  expect((job.countedAt ?? "") >= job.updatedAt).toBe(true);
  return job;
}

describe("jobs over real MQTT: API → jobs worker → commands pipeline → devices → acks", () => {
  it("a job over a group of 200 devices completes with every execution acked", async () => {
    const created = await postJob({
      id: "sync-all",
      op: "sync_user",
      data: { user: 7 },
      targets: { group: "fleet" },
    });
    expect(created.status).toBe(202);
    const job = await finished("sync-all");
    expect(job.status, JSON.stringify(job)).toBe("completed");
    expect(job.progress).toMatchObject({ created: FLEET, total: FLEET, fannedOut: true });
    expect(job.counts).toMatchObject({ acked: FLEET, failed: 0, queued: 0, pending: 0 });
    const executions = await allExecutions(api, "sync-all");
    expect(executions).toHaveLength(FLEET);
    expect(new Set(executions.map((e) => e.status))).toEqual(new Set(["acked"]));
    expect(fleet.every((device) => device.received.includes("job-sync-all"))).toBe(true);
    // Each execution is a command of its device, readable as such.
    const { body } = await api.call("GET", `/v1/devices/${sns[0]}/commands/job-sync-all`);
    expect(body.command).toMatchObject({ status: "acked", jobId: "sync-all", op: "sync_user" });
  }, 300_000);

  it("an unknown op ends failed on every device, with the device's error", async () => {
    await postJob({ id: "unknown-op", op: "launch_rocket", targets: { sns: sns.slice(0, 50) } });
    const job = await finished("unknown-op");
    expect(job.status, JSON.stringify(job)).toBe("completed");
    expect(job.counts).toMatchObject({ failed: 50, acked: 0 });
    const failed = await allExecutions(api, "unknown-op", "failed");
    expect(failed).toHaveLength(50);
    expect(failed[0]?.reason).toMatch(/unknown op/);
  }, 300_000);

  it("respects rollout.perMinute, measured on the executions' creation times", async () => {
    const perMinute = 1200; // 20 a second: slices of 20, a second apart
    await postJob({ id: "paced", op: "ping", targets: { sns: sns.slice(0, 120) }, rollout: { perMinute } });
    const job = await finished("paced");
    expect(job.status, JSON.stringify(job)).toBe("completed");
    const times = (await allExecutions(api, "paced"))
      .map((e) => Date.parse(e.createdAt))
      .sort((a, b) => a - b);
    expect(times).toHaveLength(120);
    const windowMs = 3_000;
    const step = perMinute / 60;
    for (const start of times) {
      const inWindow = times.filter((t) => t >= start && t < start + windowMs).length;
      expect(inWindow).toBeLessThanOrEqual((perMinute * windowMs) / 60_000 + step);
    }
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThanOrEqual((120 / step - 1) * 1000);
  }, 300_000);

  it("aborts at the threshold when devices fail: the rollout stops and the unsent executions are canceled", async () => {
    const targets = sns.slice(100, 200);
    const failing = fleet.filter((d) => targets.includes(d.sn) && failsJobs(d.sn, 50));
    for (const device of failing) device.refuses = () => true;
    try {
      const abort = { failedPercent: 30, minExecuted: 10 };
      await postJob({
        id: "abort-me",
        op: "reboot",
        targets: { sns: targets },
        rollout: { perMinute: 300 },
        abort,
      });
      const job = await finished("abort-me");
      expect(job.status, JSON.stringify(job)).toBe("aborted");
      expect(job.reason).toMatch(/failed/);
      expect(job.progress.created).toBeLessThan(100);
      const executions = await allExecutions(api, "abort-me");
      expect(executions).toHaveLength(job.progress.created);
      expect(executions.filter((e) => e.status === "queued" || e.status === "pending")).toHaveLength(0);
      const executed = (job.counts.acked ?? 0) + (job.counts.failed ?? 0);
      expect(executed).toBeGreaterThanOrEqual(abort.minExecuted);
      expect(((job.counts.failed ?? 0) * 100) / executed).toBeGreaterThanOrEqual(abort.failedPercent);
    } finally {
      for (const device of failing) device.refuses = () => false;
    }
  }, 300_000);

  it("cancel stops a rollout: no more executions, none left waiting", async () => {
    await postJob({
      id: "cancel-me",
      op: "ping",
      targets: { sns: sns.slice(0, 60) },
      rollout: { perMinute: 60 },
    });
    await eventually(async () => {
      const { body } = await api.call("GET", "/v1/jobs/cancel-me");
      return (body.job as { progress: { created: number } }).progress.created >= 2 ? true : undefined;
    }, 30_000);
    const canceled = await api.call("POST", "/v1/jobs/cancel-me/cancel");
    expect(canceled.status).toBe(200);
    expect((canceled.body.job as { status: string }).status).toBe("canceled");
    const job = await finished("cancel-me");
    expect(job.status).toBe("canceled");
    expect(job.progress.created).toBeLessThan(60);
    const executions = await allExecutions(api, "cancel-me");
    expect(executions.every((e) => ["acked", "expired"].includes(e.status))).toBe(true);
    const canceledOnes = await allExecutions(api, "cancel-me", "canceled");
    expect(canceledOnes.length).toBe(job.counts.canceled ?? 0);
  }, 300_000);

  it("creates idempotently on id: the same body is the same job, another body is 409", async () => {
    const body = { id: "twice", op: "ping", targets: { sns: sns.slice(0, 3) } };
    const first = await postJob(body);
    const again = await postJob(body);
    expect(again.status).toBe(202);
    expect((again.body.job as { createdAt: string }).createdAt).toBe(
      (first.body.job as { createdAt: string }).createdAt,
    );
    const conflict = await postJob({ ...body, op: "reboot" });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ field: "id" });
    expect((await finished("twice")).counts).toMatchObject({ acked: 3 });
  }, 300_000);

  it("lists a group's devices page by page, with their groups and attributes", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { status, body } = await api.call(
        "GET",
        `/v1/devices?group=fleet&limit=100${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(status).toBe(200);
      for (const item of body.items as Array<{ sn: string; groups: string[] }>) {
        expect(item.groups).toEqual(["fleet"]);
        seen.push(item.sn);
      }
      cursor = body.cursor as string | undefined;
    } while (cursor);
    expect(seen.sort()).toEqual(sns);
    const listed = await api.call("GET", "/v1/jobs?limit=100");
    expect((listed.body.items as Array<{ id: string }>).map((j) => j.id)).toContain("sync-all");
  });
});
