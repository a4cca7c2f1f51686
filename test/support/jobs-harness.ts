import { recordDeviceAck } from "../../functions/core/commands/track-delivery.ts";
import { cancelJobExecutions, checkJob } from "../../functions/core/jobs/check.ts";
import { runSlice } from "../../functions/core/jobs/fan-out.ts";
import type { Job, JobMessage } from "../../functions/core/jobs/types.ts";
import type { JobRequest } from "../../functions/core/schemas/jobs.ts";
import { FakeClock, MemoryCommandStore, MemoryEventQueue } from "./memory/index.ts";
import { MemoryJobQueue, MemoryJobStore, MemoryTargets, RecordingCommandQueue } from "./memory-jobs.ts";

export const sns = (n: number, prefix = "D") =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);

/** A job service in memory, its worker run message by message, and a fleet that answers at once. */
export function setup(fleet: { fails?: (sn: string) => boolean } = {}) {
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

export type JobService = ReturnType<typeof setup>;

export const request = (body: Partial<JobRequest> & Pick<JobRequest, "targets">): JobRequest => ({
  id: "j1",
  op: "reboot",
  ...body,
});

/** The job's first slice message, taken off the queue. */
export function firstSlice(s: JobService): Extract<JobMessage, { kind: "fanout" }> {
  const first = s.jobQueue.next();
  if (first?.kind !== "fanout") throw new Error("expected the job's first slice");
  return first;
}

/** Runs `slice` as a worker that dies after storing its executions, before counting them. */
export async function dieAfterStoring(s: JobService, slice: Extract<JobMessage, { kind: "fanout" }>) {
  const recordSlice = s.jobs.recordSlice.bind(s.jobs);
  s.jobs.recordSlice = async () => {
    throw new Error("the worker died after storing the slice's executions");
  };
  try {
    await runSlice(s.deps, slice);
  } catch {
    s.jobs.recordSlice = recordSlice;
    return;
  }
  throw new Error("expected the slice to die");
}
