import * as v from "valibot";
import { BaseConfig } from "../adapters/config.ts";

/** The jobs worker's settings: where the jobs queue is, and how often a running job is checked. */
export const JobsSettings = v.object({
  ...BaseConfig.entries,
  JOBS_QUEUE_URL: v.pipe(v.string("is required"), v.url("must be a URL")),
  /** Seconds between a job's checks while its executions change (it backs off while they do not). */
  JOB_CHECK_SECONDS: v.optional(
    v.pipe(v.string(), v.regex(/^[1-9]\d*$/, "must be a whole number of at least 1"), v.transform(Number)),
    "10",
  ),
});
