import { stableEventId } from "../event-id.ts";
import type { FanoutMessage } from "../fanout.ts";
import type { EventQueue } from "../ports.ts";
import type { JobStore } from "./ports.ts";
import type { Job } from "./types.ts";

/**
 * Job events share the events queue's message group `_jobs` (a valid serial number no device is
 * expected to have): consumers see a job's status changes in order.
 */
export const JOB_EVENTS_SN = "_jobs";

export function jobStatusMessage(job: Job): FanoutMessage {
  return {
    type: "job",
    eventId: stableEventId("job", job.id, job.status),
    sn: JOB_EVENTS_SN,
    at: job.updatedAt,
    data: {
      id: job.id,
      op: job.op,
      status: job.status,
      ...(job.reason ? { reason: job.reason } : {}),
      created: job.created,
      ...(job.total !== undefined ? { total: job.total } : {}),
      counts: job.counts,
    },
  };
}

/** Puts the job's status on the events queue unless it was announced already (a replay heals a crash). */
export async function announceJob(deps: { events: EventQueue; jobs: JobStore }, job: Job): Promise<void> {
  if (job.announcedStatus === job.status) return;
  await deps.events.send([jobStatusMessage(job)]);
  await deps.jobs.markAnnounced(job.id, job.status);
}
