import { type Context, Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Scope } from "../../core/api-keys.ts";
import { cancelJob } from "../../core/jobs/cancel-job.ts";
import { isFannedOut } from "../../core/jobs/check.ts";
import { createJob, type JobDeps } from "../../core/jobs/create-job.ts";
import type { JobStore } from "../../core/jobs/ports.ts";
import type { Job } from "../../core/jobs/types.ts";
import { CommandListQuery } from "../../core/schemas/api.ts";
import { ExecutionStatus, JOB_STATUSES, JobId, JobRequest } from "../../core/schemas/jobs.ts";
import { requireScope } from "../../http/api-key-auth.ts";
import { jsonObjectBody } from "../../http/json-body.ts";
import { problemResponse } from "../../http/problems.ts";
import { validate } from "../../http/validate.ts";
import { PAGED_ROUTES } from "../route-cursor.ts";
import { jsonContent, page, paging, problems } from "../route-kit.ts";
import { CommandView } from "../schemas.ts";
import type { ApiDeps, ApiEnv } from "../types.ts";
import { publicCommand } from "../views.ts";

const READERS = ["read", "commands"] as const satisfies Scope[];
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
});
const JobAnswer = v.object({ job: JobView });
const JobPage = v.object({ items: v.array(JobView), cursor: v.optional(v.string()) });
const ExecutionPage = v.object({ items: v.array(CommandView), cursor: v.optional(v.string()) });

type JobApp = Hono<ApiEnv>;
type JobApiDeps = JobDeps;

/**
 * `/v1/jobs[/{id}[/executions|/cancel]]`: one operation to many devices. Scope `commands` to create and
 * cancel, `read` or `commands` to read. Each execution is a command of its device (id `job-{jobId}`).
 */
export function jobRoutes(deps: ApiDeps): JobApp {
  const app = new Hono<ApiEnv>();
  const jobDeps =
    deps.jobs && deps.jobQueue ? { ...deps, jobs: deps.jobs, jobQueue: deps.jobQueue } : undefined;
  postJob(app, deps, jobDeps);
  listJobs(app, deps);
  readJob(app, deps);
  listExecutions(app, deps);
  postCancel(app, deps, jobDeps);
  return app;
}

function postJob(app: JobApp, deps: ApiDeps, jobDeps: JobApiDeps | undefined) {
  app.post(
    "/",
    describeRoute({
      tags: ["jobs"],
      summary: "Run one operation on many devices (idempotent on id)",
      description:
        "Stores the job and answers at once; a worker creates one execution (a command with id job-{id}) per " +
        "target in slices, at rollout.perMinute when given. The abort rule stops the rollout and cancels the " +
        "executions not sent yet once failedPercent of at least minExecuted executions failed.",
      responses: {
        "202": {
          description: "Stored (or the same job again); executions follow",
          content: jsonContent(JobAnswer),
        },
        ...problems(400, 409, 413, 415, 422),
      },
    }),
    requireScope(deps.keys, "commands"),
    jsonObjectBody(),
    validate("json", JobRequest),
    async (c) => {
      if (!jobDeps) return notConfigured(c);
      // The same id with another body is a JobConflictError, answered 409 by the app's onError.
      const { job } = await createJob(jobDeps, c.req.valid("json"));
      return c.json({ job: publicJob(job) }, 202, { location: `/v1/jobs/${job.id}` });
    },
  );
}

function listJobs(app: JobApp, deps: ApiDeps) {
  app.get(
    "/",
    describeRoute({
      tags: ["jobs"],
      summary: "Jobs, newest first",
      responses: {
        "200": { description: "A page of jobs", content: jsonContent(JobPage) },
        ...problems(400),
      },
    }),
    requireScope(deps.keys, READERS),
    validate(
      "query",
      v.object({ limit: CommandListQuery.entries.limit, cursor: CommandListQuery.entries.cursor }),
    ),
    async (c) => {
      const jobs = requireJobs(deps);
      const result = await jobs.list(paging(PAGED_ROUTES.jobs, c.req.valid("query")));
      return c.json(page(PAGED_ROUTES.jobs, result.items.map(publicJob), result.cursor), 200);
    },
  );
}

function readJob(app: JobApp, deps: ApiDeps) {
  app.get(
    "/:id",
    describeRoute({
      tags: ["jobs"],
      summary: "One job: status, progress and its executions' counts per status",
      description: "counts are as of countedAt (the job's last check, every few seconds while it runs).",
      responses: {
        "200": { description: "The job", content: jsonContent(JobAnswer) },
        ...problems(400, 404),
      },
    }),
    requireScope(deps.keys, READERS),
    validate("param", JobParams),
    async (c) => {
      const { id } = c.req.valid("param");
      const job = await requireJobs(deps).get(id);
      if (!job) return problemResponse(c, "not_found", `no job '${id}'`);
      return c.json({ job: publicJob(job) }, 200);
    },
  );
}

function listExecutions(app: JobApp, deps: ApiDeps) {
  app.get(
    "/:id/executions",
    describeRoute({
      tags: ["jobs"],
      summary: "A job's executions (its commands), in creation order; with status, only those",
      responses: {
        "200": { description: "A page of executions", content: jsonContent(ExecutionPage) },
        ...problems(400),
      },
    }),
    requireScope(deps.keys, READERS),
    validate("param", JobParams),
    validate("query", ExecutionQuery),
    async (c) => {
      const { id } = c.req.valid("param");
      const { status, ...query } = c.req.valid("query");
      const filter =
        status === "canceled" || status === "expired"
          ? { statuses: ["expired"], canceled: status === "canceled" }
          : status
            ? { statuses: [status] }
            : {};
      const result = await requireJobs(deps).executions(
        id,
        paging(PAGED_ROUTES.jobExecutions, query),
        filter,
      );
      return c.json(page(PAGED_ROUTES.jobExecutions, result.items.map(publicCommand), result.cursor), 200);
    },
  );
}

function postCancel(app: JobApp, deps: ApiDeps, jobDeps: JobApiDeps | undefined) {
  app.post(
    "/:id/cancel",
    describeRoute({
      tags: ["jobs"],
      summary: "Cancel a job: no more executions, the unsent ones canceled",
      description: "Executions already sent run to their end. A job that is over is answered as it is.",
      responses: {
        "200": { description: "The job", content: jsonContent(JobAnswer) },
        ...problems(400, 404, 415, 422),
      },
    }),
    requireScope(deps.keys, "commands"),
    validate("param", JobParams),
    jsonObjectBody({ optional: true }),
    validate("json", CancelRequest),
    async (c) => {
      if (!jobDeps) return notConfigured(c);
      const { id } = c.req.valid("param");
      const job = await cancelJob(jobDeps, id, c.req.valid("json").reason);
      if (!job) return problemResponse(c, "not_found", `no job '${id}'`);
      return c.json({ job: publicJob(job) }, 200);
    },
  );
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
    ...(job.rollout ? { rollout: job.rollout } : {}),
    ...(job.ttlSeconds ? { ttlSeconds: job.ttlSeconds } : {}),
    ...(job.abort ? { abort: job.abort } : {}),
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
    ...(job.countedAt ? { countedAt: job.countedAt } : {}),
  };
}
