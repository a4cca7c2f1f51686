import * as v from "valibot";
import { COMMAND_STATUSES, CommandRequest } from "./command.ts";
import { SerialNumber } from "./common.ts";

/**
 * Jobs (one operation, many devices) and device groups: what `POST /v1/jobs`, its reads and
 * `PUT /v1/devices/{sn}` accept. Validated by the routes and documented in OpenAPI from here.
 */

/** Serial numbers one job may list inline; larger fleets are targeted by group or `all`. */
export const MAX_JOB_SNS = 1000;
/** Groups one device may belong to (each is one membership item, written in one transaction). */
export const MAX_DEVICE_GROUPS = 20;
/** Attributes one device may carry. */
export const MAX_DEVICE_ATTRIBUTES = 32;

/** A job id: 1-60 characters, so its executions' command id `job-{id}` stays within a command id's 64. */
export const JobId = v.pipe(
  v.string("id must be a string"),
  v.regex(/^[A-Za-z0-9_-]{1,60}$/, "id must be 1-60 characters of A-Z, a-z, 0-9, _ or -"),
);

export const GroupName = v.pipe(
  v.string("group must be a string"),
  v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "group must be 1-64 characters of A-Z, a-z, 0-9, _, . or -"),
);

/** valibot's object takes an array (naming `x.0`): refused first, naming the field itself. */
const notArray = (name: string) =>
  v.check((value: unknown) => !Array.isArray(value), `${name} must be an object`);

/** Exactly one of: a list of serial numbers, a group, or every device. */
export const JobTargets = v.pipe(
  v.unknown(),
  notArray("targets"),
  v.strictObject(
    {
      sns: v.optional(
        v.pipe(
          v.array(SerialNumber, "targets.sns must be an array of serial numbers"),
          v.minLength(1, "targets.sns must list at least one device"),
          v.maxLength(MAX_JOB_SNS, `targets.sns may list at most ${MAX_JOB_SNS} devices; use a group`),
          v.check((sns) => new Set(sns).size === sns.length, "targets.sns lists a device twice"),
        ),
      ),
      group: v.optional(GroupName),
      all: v.optional(v.literal(true, "targets.all must be true")),
    },
    "unknown field; targets takes one of sns, group or all",
  ),
  v.check(
    (t) => [t.sns, t.group, t.all].filter((x) => x !== undefined).length === 1,
    "targets must name exactly one of sns, group or all",
  ),
);
export type JobTargets = v.InferOutput<typeof JobTargets>;

const WholeNumber = (name: string, min: number, max: number) =>
  v.pipe(
    v.number(`${name} must be a number`),
    v.integer(`${name} must be a whole number`),
    v.minValue(min, `${name} must be at least ${min}`),
    v.maxValue(max, `${name} must be at most ${max}`),
  );

/** `POST /v1/jobs`; idempotent on `id`. */
export const JobRequest = v.strictObject(
  {
    id: v.optional(JobId),
    op: CommandRequest.entries.op,
    data: CommandRequest.entries.data,
    ttlSeconds: CommandRequest.entries.ttlSeconds,
    targets: JobTargets,
    rollout: v.optional(
      v.pipe(
        v.unknown(),
        notArray("rollout"),
        v.strictObject(
          { perMinute: WholeNumber("rollout.perMinute", 1, 100_000) },
          "unknown field; rollout takes perMinute",
        ),
      ),
    ),
    abort: v.optional(
      v.pipe(
        v.unknown(),
        notArray("abort"),
        v.strictObject(
          {
            failedPercent: v.pipe(
              v.number("abort.failedPercent must be a number"),
              v.minValue(0, "abort.failedPercent must be at least 0"),
              v.maxValue(100, "abort.failedPercent must be at most 100"),
            ),
            minExecuted: WholeNumber("abort.minExecuted", 1, 1_000_000),
          },
          "unknown field; abort takes failedPercent and minExecuted",
        ),
      ),
    ),
  },
  "is not a known field",
);
export type JobRequest = v.InferOutput<typeof JobRequest>;

export const JOB_STATUSES = ["in_progress", "completed", "canceled", "aborted"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * An execution's status: its command's, or `canceled` for one the job stopped before it was sent (its
 * command is `expired` with a reason saying so).
 */
export const EXECUTION_STATUSES = [...COMMAND_STATUSES, "canceled"] as const;
export const ExecutionStatus = v.picklist(
  EXECUTION_STATUSES,
  `status must be one of ${EXECUTION_STATUSES.join(", ")}`,
);
export type ExecutionStatus = v.InferOutput<typeof ExecutionStatus>;

/** `PUT /v1/devices/{sn}`: the device's groups and attributes, replacing what it had. */
export const DeviceProfileRequest = v.strictObject(
  {
    groups: v.optional(
      v.pipe(
        v.array(GroupName, "groups must be an array of group names"),
        v.maxLength(MAX_DEVICE_GROUPS, `a device may be in at most ${MAX_DEVICE_GROUPS} groups`),
        v.transform((groups) => [...new Set(groups)].sort()),
      ),
    ),
    attributes: v.optional(
      v.pipe(
        // valibot's record lets an array through as {"0": ...}: refused before it is.
        v.unknown(),
        v.check((attributes) => !Array.isArray(attributes), "attributes must be an object"),
        v.record(
          v.pipe(
            v.string(),
            v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "attribute names are 1-64 of A-Z, a-z, 0-9, _, . or -"),
          ),
          v.union(
            [
              v.pipe(v.string(), v.maxLength(256, "an attribute value is at most 256 characters")),
              v.number(),
              v.boolean(),
            ],
            "an attribute value must be a string, number or boolean",
          ),
          "attributes must be an object",
        ),
        v.check(
          (attributes) => Object.keys(attributes).length <= MAX_DEVICE_ATTRIBUTES,
          `a device may have at most ${MAX_DEVICE_ATTRIBUTES} attributes`,
        ),
      ),
    ),
  },
  "unknown field; the body takes groups and attributes",
);
export type DeviceProfileRequest = v.InferOutput<typeof DeviceProfileRequest>;
