import type { Context } from "hono";
import * as v from "valibot";
import { definedFields } from "../../core/defined-fields.ts";
import { cancelJob } from "../../core/jobs/cancel-job.ts";
import { isFannedOut } from "../../core/jobs/check.ts";
import { createJob, type JobDeps } from "../../core/jobs/create-job.ts";
import type { JobStore } from "../../core/jobs/ports.ts";
import type { Job } from "../../core/jobs/types.ts";
import { CommandListQuery } from "../../core/schemas/api.ts";
import { ExecutionStatus, JOB_STATUSES, JobId, JobRequest } from "../../core/schemas/jobs.ts";
import { problemResponse } from "../../http/problems.ts";
import { type ApiRoutes, apiRoutes, type ResourceDefaults } from "../declare-route.ts";
import { PAGED_ROUTES } from "../route-cursor.ts";
import { page, paging } from "../route-kit.ts";
import { CommandView } from "../schemas.ts";
import type { ApiDeps, ApiEnv } from "../types.ts";
import { publicCommand } from "../views.ts";

/** `POST /v1/jobs/{id}/cancel`; the body is optional. */
const CancelRequest = v.strictObject(
  {
    reason: v.optional(
      v.pipe(v.string("reason must be a string"), v.maxLength(200, "reason is at most 200 characters")),
    ),
  },
  "unknown field; the body takes only reason",
);
const JobParams = v.object({ id: v.pipe(JobId, v.description("job id")) });
const PageQuery = v.object({
  limit: CommandListQuery.entries.limit,
  cursor: CommandListQuery.entries.cursor,
});
const ExecutionQuery = v.object({
  status: v.optional(v.pipe(ExecutionStatus, v.description("only executions in this status"))),
  limit: CommandListQuery.entries.limit,
  cursor: CommandListQuery.entries.cursor,
});

const Counts = v.record(v.string(), v.number());
export const JobView = v.object({
  id: v.string(),
  op: v.string(),
  data: v.record(v.string(), v.unknown()),
  targets: v.record(v.string(), v.unknown()),
  rollout: v.optional(v.object({ perMinute: v.number() })),
  ttlSeconds: v.optional(v.number()),
  abort: v.optional(v.object({ failedPercent: v.number(), minExecuted: v.number() })),
  status: v.picklist(JOB_STATUSES),
  reason: v.optional(v.string()),
  createdAt: v.string(),
  updatedAt: v.string(),
  progress: v.object({
    created: v.number(),
    total: v.optional(v.number()),
    fannedOut: v.boolean(),
    percent: v.optional(v.number()),
  }),
  counts: Counts,
  countedAt: v.optional(v.string()),
  settledAt: v.optional(
    v.pipe(
      v.string(),
      v.description(
        "Set once nothing can change any more: the status is final, every execution is counted and none is open.",
      ),
    ),
  ),
});
const JobAnswer = v.object({ job: JobView });
const JobPage = v.object({ items: v.array(JobView), cursor: v.optional(v.string()) });
const ExecutionPage = v.object({ items: v.array(CommandView), cursor: v.optional(v.string()) });

type JobApiDeps = JobDeps;

/** Reading needs `read` or `commands`; creating and cancelling, `commands`. */
const JOBS: ResourceDefaults = { tags: ["jobs"], scope: ["read", "commands"] };

const JOB_DESCRIPTION =
  "Stores the job and answers at once; a worker creates one execution (a command with id job-{id}) per " +
  "target in slices, at rollout.perMinute when given. The abort rule stops the rollout and cancels the " +
  "executions not sent yet once failedPercent of at least minExecuted executions failed.";

/**
 * `/v1/jobs[/{id}[/executions|/cancel]]`: one operation to many devices. Scope `commands` to create and
 * cancel, `read` or `commands` to read. Each execution is a command of its device (id `job-{jobId}`).
 */
export function jobRoutes(deps: ApiDeps) {
  const routes = apiRoutes(deps.keys, JOBS);
  const jobDeps =
    deps.jobs && deps.jobQueue ? { ...deps, jobs: deps.jobs, jobQueue: deps.jobQueue } : undefined;
  postJob(routes, jobDeps);
  const ok = ["A page of jobs", JobPage] as const;
  routes.get("/", { summary: "Jobs, newest first", ok, query: PageQuery }, async (c) => {
    const result = await requireJobs(deps).list(paging(PAGED_ROUTES.jobs, c.req.valid("query")));
    return c.json(page(PAGED_ROUTES.jobs, result.items.map(publicJob), result.cursor), 200);
  });
  readJob(routes, deps);
  listExecutions(routes, deps);
  postCancel(routes, jobDeps);
  return routes.app;
}

function postJob(routes: ApiRoutes, jobDeps: JobApiDeps | undefined) {
  const declaration = {
    summary: "Run one operation on many devices (idempotent on id)",
    description: JOB_DESCRIPTION,
    ok: ["Stored (or the same job again); executions follow", JobAnswer, 202],
    scope: "commands",
    json: JobRequest,
    errors: [409],
  } as const;
  routes.post("/", declaration, async (c) => {
    if (!jobDeps) return notConfigured(c);
    // The same id with another body is a JobConflictError, answered 409 by the app's onError.
    const { job } = await createJob(jobDeps, c.req.valid("json"));
    return c.json({ job: publicJob(job) }, 202, { location: `/v1/jobs/${job.id}` });
  });
}

function readJob(routes: ApiRoutes, deps: ApiDeps) {
  const summary = "One job: status, progress and its executions' counts per status";
  const description = "counts are as of countedAt (the job's last check, every few seconds while it runs).";
  const ok = ["The job", JobAnswer] as const;
  routes.get("/:id", { summary, description, ok, param: JobParams, errors: [404] }, async (c) => {
    const { id } = c.req.valid("param");
    const job = await requireJobs(deps).get(id);
    if (!job) return problemResponse(c, "not_found", `no job '${id}'`);
    return c.json({ job: publicJob(job) }, 200);
  });
}

function listExecutions(routes: ApiRoutes, deps: ApiDeps) {
  const summary = "A job's executions (its commands), in creation order; with status, only those";
  const declaration = { summary, ok: ["A page of executions", ExecutionPage], param: JobParams } as const;
  routes.get("/:id/executions", { ...declaration, query: ExecutionQuery }, async (c) => {
    const { id } = c.req.valid("param");
    const { status, ...query } = c.req.valid("query");
    const filter =
      status === "canceled" || status === "expired"
        ? { statuses: ["expired"], canceled: status === "canceled" }
        : status
          ? { statuses: [status] }
          : {};
    const result = await requireJobs(deps).executions(id, paging(PAGED_ROUTES.jobExecutions, query), filter);
    return c.json(page(PAGED_ROUTES.jobExecutions, result.items.map(publicCommand), result.cursor), 200);
  });
}

function postCancel(routes: ApiRoutes, jobDeps: JobApiDeps | undefined) {
  const declaration = {
    summary: "Cancel a job: no more executions, the unsent ones canceled",
    description: "Executions already sent run to their end. A job that is over is answered as it is.",
    ok: ["The job", JobAnswer],
    scope: "commands",
    param: JobParams,
    json: CancelRequest,
    optionalBody: true,
    errors: [404],
  } as const;
  routes.post("/:id/cancel", declaration, async (c) => {
    if (!jobDeps) return notConfigured(c);
    const { id } = c.req.valid("param");
    const job = await cancelJob(jobDeps, id, c.req.valid("json").reason);
    if (!job) return problemResponse(c, "not_found", `no job '${id}'`);
    return c.json({ job: publicJob(job) }, 200);
  });
}

function requireJobs(deps: ApiDeps): JobStore {
  if (!deps.jobs) throw new Error("the API was started without a job store");
  return deps.jobs;
}

function notConfigured(c: Context<ApiEnv>): Response {
  return problemResponse(c, "not_configured", "jobs are not configured for this API (JOBS_QUEUE_URL)");
}

/** A job as the API shows it (an allow-list: the store's bookkeeping never leaks). */
export function publicJob(job: Job): v.InferOutput<typeof JobView> {
  const fannedOut = isFannedOut(job);
  const total = job.total ?? (fannedOut ? job.created : undefined);
  return {
    id: job.id,
    op: job.op,
    data: job.data,
    targets: job.targets,
    ...definedFields({ rollout: job.rollout, ttlSeconds: job.ttlSeconds, abort: job.abort }),
    status: job.status,
    ...(job.reason ? { reason: job.reason } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    progress: {
      created: job.created,
      ...(total !== undefined ? { total } : {}),
      fannedOut,
      ...(total ? { percent: Math.floor((job.created * 100) / total) } : {}),
    },
    counts: Object.fromEntries(Object.entries(job.counts).map(([k, n]) => [k, n ?? 0])),
    ...definedFields({ countedAt: job.countedAt, settledAt: job.settledAt }),
  };
}
