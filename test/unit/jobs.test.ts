import { describe, expect, it } from "vitest";
import { recordDeviceAck } from "../../functions/core/commands/track-delivery.ts";
import { cancelJob } from "../../functions/core/jobs/cancel-job.ts";
import { cancelJobExecutions, checkJob } from "../../functions/core/jobs/check.ts";
import { createJob, JobConflictError } from "../../functions/core/jobs/create-job.ts";
import { WRITE_CONCURRENCY } from "../../functions/core/jobs/executions.ts";
import { runSlice } from "../../functions/core/jobs/fan-out.ts";
import { SLICE_RUN_LIMIT_MS } from "../../functions/core/jobs/rollout.ts";
import { executionId, type Job } from "../../functions/core/jobs/types.ts";
import type { JobRequest } from "../../functions/core/schemas/jobs.ts";
import { FakeClock, MemoryCommandStore, MemoryEventQueue } from "../support/memory/index.ts";
import {
  MemoryJobQueue,
  MemoryJobStore,
  MemoryTargets,
  RecordingCommandQueue,
} from "../support/memory-jobs.ts";

const sns = (n: number, prefix = "D") =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);

/** A job service in memory, its worker run message by message, and a fleet that answers at once. */
function setup(fleet: { fails?: (sn: string) => boolean } = {}) {
  const clock = new FakeClock();
  const commands = new MemoryCommandStore();
  const events = new MemoryEventQueue();
  const queue = new RecordingCommandQueue();
  const jobs = new MemoryJobStore(commands, clock);
  const jobQueue = new MemoryJobQueue(clock);
  const targets = new MemoryTargets();
  const deps = { jobs, jobQueue, commands, events, queue, targets, clock, checkSeconds: 2 };
  let answered = 0;
  /** Every queued execution is published and answered: `acked`, or `failed` where `fleet.fails` says. */
  async function devicesAnswer() {
    for (const command of [...commands.items.values()]) {
      if (command.status !== "queued" || answered >= (fleetLimit ?? Number.POSITIVE_INFINITY)) continue;
      answered++;
      await commands.transition(command.sn, command.id, "sent", clock.iso());
      const ok = !(fleet.fails?.(command.sn) ?? false);
      await recordDeviceAck(deps, command.sn, { id: command.id, ok, ...(ok ? {} : { error: "refused" }) });
    }
  }
  let fleetLimit: number | undefined;
  /** Runs the worker until its queue is empty (or `max` messages), devices answering after each message. */
  async function work(options: { answer?: boolean; max?: number; answerAtMost?: number } = {}) {
    fleetLimit = options.answerAtMost;
    for (let handled = 0; handled < (options.max ?? 100_000); handled++) {
      const message = jobQueue.next();
      if (!message) return;
      // Checks go on while executions are open; three in a row without a change mean nothing will move
      // now. The chain stays on the queue (its back-off only sets a delay): a later `work` goes on with it.
      if (message.kind === "check" && message.idle >= 3) return jobQueue.send({ ...message, idle: 0 });
      if (message.kind === "fanout") await runSlice(deps, message);
      else if (message.kind === "check") await checkJob(deps, message);
      else await cancelJobExecutions(deps, message.jobId);
      if (options.answer ?? true) await devicesAnswer();
    }
  }
  const job = async (id: string) => (await jobs.get(id)) as Job;
  const executions = (id: string) => [...commands.items.values()].filter((c) => c.jobId === id);
  return { clock, commands, events, queue, jobs, jobQueue, targets, deps, work, job, executions };
}

const request = (body: Partial<JobRequest> & Pick<JobRequest, "targets">): JobRequest => ({
  id: "j1",
  op: "reboot",
  ...body,
});

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
  it("does not settle a stopped job while a slice that read it before the stop still stores", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(10) } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    const create = s.commands.create.bind(s.commands);
    let whileStoring: Job | undefined;
    s.commands.create = async (command) => {
      if (s.commands.items.size === 0) {
        // Canceled, and its checks run, while the slice that read the job still stores.
        await cancelJob(s.deps, "j1");
        await s.work({ answer: false, max: 4 });
        whileStoring = await s.job("j1");
      }
      return create(command);
    };
    expect(await runSlice(s.deps, first)).toBe("stopped");
    expect(whileStoring?.countedAt).toBeDefined();
    expect(whileStoring?.settledAt).toBeUndefined();
    await s.work({ answer: false });
    const job = await s.job("j1");
    expect(job.settledAt).toBeDefined();
    expect(job.created).toBe(10);
    expect(job.counts.canceled).toBe(10);
    expect(Object.values(job.counts).reduce((sum, n) => sum + (n ?? 0), 0)).toBe(job.created);
  });
  it("cancels what a slice stored before it died and settles with it counted once the slice can no longer run", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(10) } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    const recordSlice = s.jobs.recordSlice.bind(s.jobs);
    s.jobs.recordSlice = async () => {
      throw new Error("the worker died after storing the slice's executions");
    };
    await expect(runSlice(s.deps, first)).rejects.toThrow(/died/);
    s.jobs.recordSlice = recordSlice;
    await cancelJob(s.deps, "j1");
    expect(await runSlice(s.deps, first)).toBe("stopped");
    await s.work({ answer: false });
    expect(s.executions("j1").map((c) => c.status)).toEqual(Array(10).fill("expired"));
    // Right after the stop, an attempt of the open slice might still be storing.
    expect((await s.job("j1")).settledAt).toBeUndefined();
    s.clock.advance(SLICE_RUN_LIMIT_MS);
    await s.work({ answer: false });
    const job = await s.job("j1");
    expect(job.settledAt).toBeDefined();
    expect(job).toMatchObject({ created: 10, counts: { canceled: 10 } });
    expect(s.queue.accepted).toHaveLength(0);
  });
  it("settles with the executions that exist when its group changed before a dead slice's retry", async () => {
    const s = setup();
    s.targets.groups.set("lobby", ["A0", "A1", "A2", "A3", "A4"]);
    await createJob(s.deps, request({ targets: { group: "lobby" }, rollout: { perMinute: 120 } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    const recordSlice = s.jobs.recordSlice.bind(s.jobs);
    s.jobs.recordSlice = async () => {
      throw new Error("the worker died after storing the slice's executions");
    };
    await expect(runSlice(s.deps, first)).rejects.toThrow(/died/);
    s.jobs.recordSlice = recordSlice;
    await cancelJob(s.deps, "j1");
    s.targets.groups.set("lobby", ["A00", "A0", "A2", "A3", "A4"]);
    expect(await runSlice(s.deps, first)).toBe("stopped");
    s.clock.advance(SLICE_RUN_LIMIT_MS);
    await s.work({ answer: false });
    const job = await s.job("j1");
    expect(job.settledAt).toBeDefined();
    expect(s.executions("j1").map((c) => c.sn)).toEqual(["A0", "A1"]);
    expect(job).toMatchObject({ created: 2, counts: { canceled: 2 } });
  });
  it("stores nothing when the job stops between the slice's read of it and the slice's opening", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(10) } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    const openSlice = s.jobs.openSlice.bind(s.jobs);
    s.jobs.openSlice = async (id, slice) => {
      await cancelJob(s.deps, "j1");
      return openSlice(id, slice);
    };
    expect(await runSlice(s.deps, first)).toBe("stopped");
    await s.work({ answer: false });
    expect(s.executions("j1")).toHaveLength(0);
    const job = await s.job("j1");
    expect(job.settledAt).toBeDefined();
    expect(job.created).toBe(0);
  });
  it("a slice whose store failed answers only once its puts in flight ended, and starts no more", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(100) } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    const create = s.commands.create.bind(s.commands);
    s.commands.create = async (command) => {
      if (command.sn === "D00000") throw new Error("DynamoDB throttled the put");
      return create(command);
    };
    await expect(runSlice(s.deps, first)).rejects.toThrow(/throttled/);
    const storedBeforeAnswer = s.executions("j1").length;
    await new Promise((resolve) => setImmediate(resolve));
    expect(s.executions("j1")).toHaveLength(storedBeforeAnswer);
    // Only the puts already in flight when the first one failed.
    expect(storedBeforeAnswer).toBeLessThan(WRITE_CONCURRENCY);
  });
  it("waits for a slice that began storing after the one before it, when the job stops before either is counted", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(200) } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    const create = s.commands.create.bind(s.commands);
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached = () => {};
    const atGate = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let second: Promise<unknown> | undefined;
    s.commands.create = async (command) => {
      if (Number(command.sn.slice(1)) >= 100) {
        reached();
        await gate;
      } else if (!second) {
        // Slice 1 (sent before slice 0 stores, no rollout delay) begins storing; then the job is canceled.
        const next = s.jobQueue.next();
        if (next?.kind !== "fanout" || next.slice !== 1) throw new Error("expected slice 1");
        second = runSlice(s.deps, next);
        await atGate;
        await cancelJob(s.deps, "j1");
      }
      return create(command);
    };
    expect(await runSlice(s.deps, first)).toBe("stopped");
    await s.work({ answer: false, max: 6 });
    expect((await s.job("j1")).settledAt).toBeUndefined();
    release();
    await second;
    await s.work({ answer: false });
    const job = await s.job("j1");
    expect(job.settledAt).toBeDefined();
    expect(job).toMatchObject({ created: 200, counts: { canceled: 200 } });
  });
  it("a second copy of a slice that finds the job stopped leaves the slice to the copy still storing", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(10) } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    const create = s.commands.create.bind(s.commands);
    let once = false;
    s.commands.create = async (command) => {
      if (!once) {
        once = true;
        await cancelJob(s.deps, "j1");
        expect(await runSlice(s.deps, first)).toBe("stopped");
        await s.work({ answer: false, max: 4 });
        expect((await s.job("j1")).settledAt).toBeUndefined();
      }
      return create(command);
    };
    expect(await runSlice(s.deps, first)).toBe("stopped");
    await s.work({ answer: false });
    const job = await s.job("j1");
    expect(job.settledAt).toBeDefined();
    expect(job).toMatchObject({ created: 10, counts: { canceled: 10 } });
  });
  it("settles a job canceled before its first slice ran, with no executions", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(10) } }));
    await cancelJob(s.deps, "j1");
    await s.work({ answer: false });
    const job = await s.job("j1");
    expect(job.settledAt).toBeDefined();
    expect(job.created).toBe(0);
    expect(s.executions("j1")).toHaveLength(0);
  });
  it("counts them when the slice counts between a check's reading and its saving of the counts", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(10) } }));
    const first = s.jobQueue.next();
    if (first?.kind !== "fanout") throw new Error("expected the first slice");
    const create = s.commands.create.bind(s.commands);
    const saveCounts = s.jobs.saveCounts.bind(s.jobs);
    let sliceCounted = () => {};
    const counted = new Promise<void>((resolve) => {
      sliceCounted = resolve;
    });
    let check: Promise<void> | undefined;
    let stopping = false;
    s.commands.create = async (command) => {
      if (!stopping) {
        stopping = true;
        await cancelJob(s.deps, "j1");
        const at = s.jobQueue.messages.findIndex((m) => m.message.kind === "check");
        const message = s.jobQueue.messages.splice(at, 1)[0]?.message;
        if (message?.kind !== "check") throw new Error("expected the job's first check");
        // This check has read the job and its executions (none yet); it saves only after the slice counted.
        let reachedSave = () => {};
        const saving = new Promise<void>((resolve) => {
          reachedSave = resolve;
        });
        s.jobs.saveCounts = async (...args) => {
          reachedSave();
          await counted;
          return saveCounts(...args);
        };
        check = checkJob(s.deps, message);
        await saving;
      }
      return create(command);
    };
    expect(await runSlice(s.deps, first)).toBe("stopped");
    s.jobs.saveCounts = saveCounts;
    sliceCounted();
    await check;
    await s.work({ answer: false });
    const job = await s.job("j1");
    expect(job.counts.canceled).toBe(10);
    expect(Object.values(job.counts).reduce((sum, n) => sum + (n ?? 0), 0)).toBe(job.created);
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
