import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbJobStore } from "../../functions/adapters/dynamodb/job-store.ts";
import { createJob } from "../../functions/core/jobs/create-job.ts";
import { systemClock } from "../../functions/core/ports.ts";
import { FakeClock, MemoryEventQueue } from "../support/memory/index.ts";
import { MemoryJobQueue } from "../support/memory-jobs.ts";
import { createTestResources, type TestResources, uniqueName } from "../support/resources.ts";

/** The job store's slice counting on DynamoDB Local, where a slice and a stop race. */
let env: TestResources;
let jobs: DynamoDbJobStore;

beforeAll(async () => {
  env = await createTestResources();
  jobs = new DynamoDbJobStore(env.dynamodb, env.tableName);
});
afterAll(() => env?.destroy());

async function newJob() {
  const deps = {
    jobs,
    jobQueue: new MemoryJobQueue(new FakeClock()),
    events: new MemoryEventQueue(),
    clock: systemClock,
  };
  const { job } = await createJob(deps, {
    id: uniqueName("job"),
    op: "reboot",
    targets: { sns: ["A", "B"] },
  });
  return job;
}

describe("recording a job's slices", () => {
  it("counts a slice once while the job is in progress; a slice is open from its start to its count", async () => {
    const job = await newJob();
    expect((await jobs.get(job.id))?.openSlices).toBeUndefined();
    expect(await jobs.openSlice(job.id, 0)).toBe(true);
    expect(await jobs.openSlice(job.id, 1)).toBe(true);
    expect((await jobs.get(job.id))?.openSlices?.sort()).toEqual([0, 1]);
    expect(await jobs.recordSlice(job.id, 1, 3, true)).toBe("recorded");
    expect(await jobs.recordSlice(job.id, 0, 2, false)).toBe("recorded");
    expect(await jobs.recordSlice(job.id, 0, 2, false)).toBe("repeat");
    const after = await jobs.get(job.id);
    expect(after).toMatchObject({ created: 5, slicesDone: 2, lastSlice: 1 });
    expect(after?.openSlices).toBeUndefined();
  });

  it("opens no slice of a stopped job", async () => {
    const job = await newJob();
    await jobs.finish(job.id, "canceled", new Date().toISOString(), "canceled by request");
    expect(await jobs.openSlice(job.id, 0)).toBe(false);
    expect((await jobs.get(job.id))?.openSlices).toBeUndefined();
  });

  it("counts a slice that stored its executions while the job stopped once, leaving the stop its last change", async () => {
    const job = await newJob();
    expect(await jobs.openSlice(job.id, 0)).toBe(true);
    const stopped = await jobs.finish(job.id, "aborted", new Date().toISOString(), "too many failed");
    expect(stopped?.openSlices).toEqual([0]);
    expect(await jobs.recordSlice(job.id, 0, 2, true, 2)).toBe("stopped");
    expect((await jobs.get(job.id))?.created).toBe(0);
    await jobs.countStoppedSlice(job.id, 0, 2, true, 2);
    await jobs.countStoppedSlice(job.id, 0, 2, true, 2);
    const after = await jobs.get(job.id);
    expect(after).toMatchObject({ status: "aborted", created: 2, slicesDone: 1, lastSlice: 0, total: 2 });
    expect(after?.updatedAt).toBe(stopped?.updatedAt);
    expect(after?.openSlices).toBeUndefined();
  });

  it("saves a settling check's counts with settledAt and the executions the job ended with, once per seq", async () => {
    const job = await newJob();
    const at = new Date().toISOString();
    expect(await jobs.saveCounts(job.id, { acked: 1 }, at, 1)).toBe(true);
    expect((await jobs.get(job.id))?.settledAt).toBeUndefined();
    expect(await jobs.saveCounts(job.id, { canceled: 3 }, at, 2, { created: 3 })).toBe(true);
    expect(await jobs.saveCounts(job.id, { canceled: 4 }, at, 2, { created: 4 })).toBe(false);
    expect(await jobs.get(job.id)).toMatchObject({ settledAt: at, created: 3, counts: { canceled: 3 } });
  });
});
