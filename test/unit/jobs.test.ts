import { describe, expect, it } from "vitest";
import { cancelJob } from "../../functions/core/jobs/cancel-job.ts";
import { createJob, JobConflictError } from "../../functions/core/jobs/create-job.ts";
import { runSlice } from "../../functions/core/jobs/fan-out.ts";
import { executionId } from "../../functions/core/jobs/types.ts";
import { request, setup, sns } from "../support/jobs-harness.ts";

describe("jobs: fan-out", () => {
  it("creates one queued command per target in slices, each on the commands queue and announced once", async () => {
    const s = setup();
    const { job, created } = await createJob(
      s.deps,
      request({ targets: { sns: sns(250) }, data: { force: true } }),
    );
    expect(created).toBe(true);
    expect(job.status).toBe("in_progress");
    await s.work({ answer: false });
    const executions = s.executions("j1");
    expect(executions).toHaveLength(250);
    for (const command of executions) {
      expect(command).toMatchObject({
        id: executionId("j1"),
        op: "reboot",
        data: { force: true },
        status: "queued",
        jobId: "j1",
      });
    }
    expect(s.queue.accepted).toHaveLength(250);
    const queuedEvents = s.events.ofType("command_status");
    expect(queuedEvents).toHaveLength(250);
    expect(queuedEvents[0]?.data).toMatchObject({ status: "queued", jobId: "j1" });
    const stored = await s.job("j1");
    expect(stored).toMatchObject({ created: 250, total: 250, slicesDone: 3, lastSlice: 2 });
    // The job's own writes: one put, the start mark, two per slice; the executions' are one put each.
    expect(s.jobs.writes.openSlice).toBe(3);
    expect(s.jobs.writes.recordSlice).toBe(3);
  });

  it("targets a group from its membership index and `all` from the fleet", async () => {
    const s = setup();
    s.targets.groups.set("lobby", sns(30, "L"));
    s.targets.fleet = [...sns(30, "L"), ...sns(5, "X")];
    await createJob(s.deps, request({ id: "g", targets: { group: "lobby" } }));
    await createJob(s.deps, request({ id: "a", targets: { all: true } }));
    await s.work({ answer: false });
    expect(
      s
        .executions("g")
        .map((c) => c.sn)
        .sort(),
    ).toEqual(sns(30, "L"));
    expect(s.executions("a")).toHaveLength(35);
    expect((await s.job("g")).total).toBe(30);
  });

  it("counts a repeated slice once and does not queue its executions twice", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(5) } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    await runSlice(s.deps, first);
    await runSlice(s.deps, first);
    expect((await s.job("j1")).created).toBe(5);
    expect(s.queue.accepted).toHaveLength(5);
    expect(s.executions("j1")).toHaveLength(5);
  });
  it("counts and cancels a slice's executions when the job stops while the slice is storing them", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(5) } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    const create = s.commands.create.bind(s.commands);
    let stoppedAt: string | undefined;
    s.commands.create = async (command) => {
      // The abort (or a cancel) lands after the slice read the job and before it counted its executions.
      if (s.commands.items.size === 2) {
        stoppedAt = (await cancelJob(s.deps, "j1"))?.updatedAt;
        s.clock.advance(1_000);
      }
      return create(command);
    };
    expect(await runSlice(s.deps, first)).toBe("stopped");
    const job = await s.job("j1");
    expect(job.created).toBe(s.executions("j1").length);
    // The job's last change stays the stop: a check that counted after it is still current.
    expect(job.updatedAt).toBe(stoppedAt);
    expect(s.executions("j1").every((c) => c.status === "expired")).toBe(true);
    expect(s.queue.accepted).toHaveLength(0);
  });
});

describe("jobs: status follows the executions", () => {
  it("completes once every execution is final, acked or failed, with counts per status", async () => {
    const s = setup({ fails: (sn) => sn.endsWith("7") });
    await createJob(s.deps, request({ targets: { sns: sns(40) } }));
    await s.work();
    const job = await s.job("j1");
    expect(job.status).toBe("completed");
    expect(job.counts).toMatchObject({ acked: 36, failed: 4, queued: 0, sent: 0 });
    const jobEvents = s.events.ofType("job").map((m) => m.data.status);
    expect(jobEvents).toEqual(["in_progress", "completed"]);
  });

  it("keeps the rollout rate: no window of a minute holds more than perMinute plus one step", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(300) }, rollout: { perMinute: 120 } }));
    await s.work({ answer: false });
    const times = s
      .executions("j1")
      .map((c) => Date.parse(c.createdAt))
      .sort((a, b) => a - b);
    expect(times).toHaveLength(300);
    const step = Math.ceil(120 / 60);
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter(
        (t) => t >= (times[i] as number) && t < (times[i] as number) + 60_000,
      ).length;
      expect(inWindow).toBeLessThanOrEqual(120 + step);
    }
    // 300 at 120 a minute take about two and a half minutes.
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThanOrEqual(149_000 - 1_000);
  });

  it("aborts at the threshold: the rollout stops and the unsent executions are canceled", async () => {
    const s = setup({ fails: (sn) => Number(sn.slice(1)) % 2 === 0 });
    const abort = { failedPercent: 40, minExecuted: 20 };
    await createJob(s.deps, request({ targets: { sns: sns(600) }, rollout: { perMinute: 600 }, abort }));
    await s.work();
    const job = await s.job("j1");
    expect(job.status).toBe("aborted");
    expect(job.reason).toMatch(/failed/);
    expect(job.created).toBeLessThan(600);
    expect((job.counts.acked ?? 0) + (job.counts.failed ?? 0)).toBeGreaterThanOrEqual(20);
    const open = s.executions("j1").filter((c) => c.status === "queued" || c.status === "pending");
    expect(open).toHaveLength(0);
  });

  it("cancel stops the rollout; executions not sent yet end canceled, sent ones keep their status", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(100) }, rollout: { perMinute: 60 } }));
    await s.work({ max: 4, answerAtMost: 2 });
    const before = (await s.job("j1")).created;
    expect(before).toBeGreaterThan(2);
    const canceled = await cancelJob(s.deps, "j1");
    expect(canceled?.status).toBe("canceled");
    await s.work({ answer: false });
    const job = await s.job("j1");
    expect(job.status).toBe("canceled");
    expect(job.created).toBe(before);
    expect(job.counts).toMatchObject({ acked: 2, canceled: before - 2 });
    const expired = s.executions("j1").filter((c) => c.status === "expired");
    expect(expired.every((c) => c.reason?.startsWith("canceled:"))).toBe(true);
    expect(s.events.ofType("job").map((m) => m.data.status)).toEqual(["in_progress", "canceled"]);
  });

  it("expires executions whose TTL passed while their devices were away, and then completes", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(3) }, ttlSeconds: 30 }));
    await s.work({ answer: false, max: 1 });
    s.clock.advance(31_000);
    await s.work({ answer: false });
    const job = await s.job("j1");
    expect(job.status).toBe("completed");
    expect(job.counts.expired).toBe(3);
  });
});

describe("jobs: idempotent create", () => {
  it("the same id and body returns the same job and starts it once; another body is a conflict", async () => {
    const s = setup();
    const body = request({ targets: { sns: sns(3) } });
    const first = await createJob(s.deps, body);
    const again = await createJob(s.deps, { ...body });
    expect(again.created).toBe(false);
    expect(again.job.createdAt).toBe(first.job.createdAt);
    expect(s.jobQueue.sent.filter((m) => m.message.kind === "fanout")).toHaveLength(1);
    await expect(createJob(s.deps, { ...body, op: "ping" })).rejects.toBeInstanceOf(JobConflictError);
  });
});
