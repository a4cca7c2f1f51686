import { describe, expect, it } from "vitest";
import { cancelJob } from "../../functions/core/jobs/cancel-job.ts";
import { checkJob } from "../../functions/core/jobs/check.ts";
import { createJob } from "../../functions/core/jobs/create-job.ts";
import { WRITE_CONCURRENCY } from "../../functions/core/jobs/executions.ts";
import { runSlice } from "../../functions/core/jobs/fan-out.ts";
import { SLICE_RUN_LIMIT_MS } from "../../functions/core/jobs/rollout.ts";
import type { Job } from "../../functions/core/jobs/types.ts";
import { dieAfterStoring, firstSlice, request, setup, sns } from "../support/jobs-harness.ts";

/**
 * A job stopped (canceled, aborted) while its slices store: its checks settle only once nothing more
 * can appear, and its counts then add up to the executions it has, whatever dies or runs twice.
 */
describe("jobs: a stop while slices store", () => {
  it("does not settle a stopped job while a slice that read it before the stop still stores", async () => {
    const s = setup();
    await createJob(s.deps, request({ targets: { sns: sns(10) } }));
    const first = firstSlice(s);
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
    const first = firstSlice(s);
    await dieAfterStoring(s, first);
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
    const first = firstSlice(s);
    await dieAfterStoring(s, first);
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
    const first = firstSlice(s);
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
    const first = firstSlice(s);
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
    const first = firstSlice(s);
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
    const first = firstSlice(s);
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
    const first = firstSlice(s);
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
