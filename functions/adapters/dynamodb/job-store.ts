import { UpdateCommand, type UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import type { Command } from "../../core/commands/types.ts";
import type { JobStore, SliceRecord } from "../../core/jobs/ports.ts";
import {
  CANCELED_PREFIX,
  type ExecutionCounts,
  type ExecutionState,
  type Job,
  type JobStatus,
} from "../../core/jobs/types.ts";
import type { Page, PageRequest } from "../../core/queries.ts";
import { CommandStatus } from "../../core/schemas/command.ts";
import { EXECUTION_STATUSES, JOB_STATUSES } from "../../core/schemas/jobs.ts";
import { send } from "../aws-errors.ts";
import type { CursorRule } from "./cursor.ts";
import { readItem, StoredCommandItem } from "./items.ts";
import { GSI1 } from "./keys.ts";
import { putIfAbsent } from "./put-if-absent.ts";
import { conditional, sendConditional } from "./send.ts";
import { type QueryInput, TableAdapter } from "./table-adapter.ts";

/**
 * The index of job executions: a job's commands (the only items with a `jobId`) in creation order.
 * Sparse, and the command's own status writes keep it current: counting a job costs reads, no writes.
 */
export const JOBS_INDEX = "byJob";
export const JOBS_INDEX_KEYS = { partition: "jobId", sort: "gsi1sk" } as const;

const JOB_SK = "JOB";
const JOBS_LIST_KEY = "JOBS";
const jobKey = (id: string) => ({ pk: `JOB#${id}`, sk: JOB_SK });
const TABLE_ATTRIBUTES = ["pk", "sk", "gsi1pk", "gsi1sk", "type", "sliceKeys", "slicesDue"];

const text = v.string();
const optionalText = v.optional(text);
const optionalCount = v.optional(v.number());
const Status = v.picklist(JOB_STATUSES);

/** A job as `create` stores it and the updates below change it; only the shapes are checked. */
const StoredJob = v.looseObject({
  id: text,
  op: text,
  data: v.record(text, v.unknown()),
  targets: v.looseObject({
    sns: v.optional(v.array(text)),
    group: optionalText,
    all: v.optional(v.literal(true)),
  }),
  rollout: v.optional(v.looseObject({ perMinute: v.number() })),
  ttlSeconds: optionalCount,
  abort: v.optional(v.looseObject({ failedPercent: v.number(), minExecuted: v.number() })),
  status: Status,
  reason: optionalText,
  createdAt: text,
  updatedAt: text,
  requestHash: text,
  startedAt: optionalText,
  total: optionalCount,
  created: v.number(),
  slicesDone: v.number(),
  lastSlice: optionalCount,
  counts: v.record(v.picklist(EXECUTION_STATUSES), v.number()),
  countedAt: optionalText,
  settledAt: optionalText,
  checkSeq: v.number(),
  announcedStatus: v.optional(Status),
});

/**
 * Jobs in the table: `JOB#{id}` / `JOB`, listed newest first through GSI1 (`JOBS`). Each fan-out slice
 * opens with one update (its number into `slicesDue`, while the job runs) and is counted with another
 * (`ADD` to the counters, its number into `sliceKeys` so a repeat counts once); executions are read
 * through {@link JOBS_INDEX}.
 */
export class DynamoDbJobStore extends TableAdapter implements JobStore {
  create(job: Job) {
    const item = {
      ...jobKey(job.id),
      gsi1pk: JOBS_LIST_KEY,
      gsi1sk: `${job.createdAt}#${job.id}`,
      type: "job",
      ...job,
    };
    return putIfAbsent(this.client, this.tableName, item, { what: "job", fromItem: toJob });
  }

  async get(id: string): Promise<Job | undefined> {
    return this.itemByKey(jobKey(id), "job", toJob);
  }

  list(page: PageRequest): Promise<Page<Job>> {
    const rule: CursorRule = {
      query: "jobs",
      keyAttributes: ["pk", "sk", "gsi1pk", "gsi1sk"],
      accept: (k) => k.gsi1pk === JOBS_LIST_KEY && k.sk === JOB_SK,
    };
    const input = {
      IndexName: GSI1,
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": JOBS_LIST_KEY },
      ScanIndexForward: false,
    };
    return this.queryPage(input, page, rule, toJob);
  }

  async markStarted(id: string, at: string): Promise<void> {
    await this.update(
      id,
      "SET startedAt = if_not_exists(startedAt, :at), announcedStatus = if_not_exists(announcedStatus, :s)",
      {
        ":at": at,
        ":s": "in_progress",
      },
    );
  }

  openSlice(id: string, slice: number): Promise<boolean> {
    const input = this.updateInput(id, "ADD slicesDue :slice", {
      ":slice": new Set([slice]),
      ":ip": "in_progress",
    });
    input.ConditionExpression = "#status = :ip";
    input.ExpressionAttributeNames = { "#status": "status" };
    return sendConditional("DynamoDB UpdateItem (job slice open)", () =>
      this.documents.send(new UpdateCommand(input)),
    );
  }

  async recordSlice(
    id: string,
    slice: number,
    created: number,
    last: boolean,
    total?: number,
  ): Promise<SliceRecord> {
    const input = this.sliceInput(id, { slice, created, last, total }, "in_progress");
    const result = await conditional("DynamoDB UpdateItem (job slice)", () =>
      this.documents.send(new UpdateCommand(input)),
    );
    if (result.passed) return "recorded";
    return result.stored?.status === "in_progress" ? "repeat" : "stopped";
  }

  async countStoppedSlice(id: string, slice: number, created: number, last: boolean, total?: number) {
    const input = this.sliceInput(id, { slice, created, last, total }, "stopped");
    // Failed: counted before (a repeated slice), or no such job.
    await conditional("DynamoDB UpdateItem (stopped job slice)", () =>
      this.documents.send(new UpdateCommand(input)),
    );
  }

  /**
   * A slice's update, counted once (its number joins `sliceKeys`): on a job in progress it also moves
   * `updatedAt`; on a stopped one (`job` "stopped") it only adds the slice's executions.
   */
  private sliceInput(
    id: string,
    { slice, created, last, total }: { slice: number; created: number; last: boolean; total?: number },
    job: "in_progress" | "stopped",
  ): UpdateCommandInput {
    const sets = [
      ...(job === "in_progress" ? ["updatedAt = :at"] : []),
      ...(last ? ["lastSlice = :slice"] : []),
      // `total` is one of DynamoDB's reserved words.
      ...(total !== undefined ? ["#total = if_not_exists(#total, :total)"] : []),
    ];
    const input = this.updateInput(
      id,
      `ADD created :n, slicesDone :one, sliceKeys :keys${sets.length ? ` SET ${sets.join(", ")}` : ""}`,
      {
        ":n": created,
        ":one": 1,
        ":keys": new Set([slice]),
        ":slice": slice,
        ...(job === "in_progress" ? { ":at": new Date().toISOString(), ":ip": "in_progress" } : {}),
        ...(total !== undefined ? { ":total": total } : {}),
      },
    );
    const status = job === "in_progress" ? "#status = :ip" : "attribute_exists(#status)";
    input.ConditionExpression = `${status} AND NOT contains(sliceKeys, :slice)`;
    input.ExpressionAttributeNames = {
      "#status": "status",
      ...(total !== undefined ? { "#total": "total" } : {}),
    };
    input.ReturnValuesOnConditionCheckFailure = "ALL_OLD";
    return input;
  }

  async finish(id: string, to: JobStatus, at: string, reason?: string): Promise<Job | undefined> {
    const input = this.updateInput(
      id,
      `SET #status = :to, updatedAt = :at${reason ? ", #reason = :reason" : ""}`,
      {
        ":to": to,
        ":at": at,
        ":ip": "in_progress",
        ...(reason ? { ":reason": reason } : {}),
      },
    );
    input.ConditionExpression = "#status = :ip";
    input.ExpressionAttributeNames = { "#status": "status", ...(reason ? { "#reason": "reason" } : {}) };
    // `undefined` when the condition failed: the job had finished already.
    return this.updated("job status", input, toJob);
  }

  saveCounts(
    id: string,
    counts: ExecutionCounts,
    at: string,
    seq: number,
    settle?: { created: number },
  ): Promise<boolean> {
    const sets = `counts = :c, countedAt = :at, checkSeq = :seq${settle ? ", settledAt = :at, created = :n" : ""}`;
    const input = this.updateInput(id, `SET ${sets}`, {
      ":c": counts,
      ":at": at,
      ":seq": seq,
      ":prev": seq - 1,
      ...(settle ? { ":n": settle.created } : {}),
    });
    input.ConditionExpression = "checkSeq = :prev";
    return sendConditional("DynamoDB UpdateItem (job counts)", () =>
      this.documents.send(new UpdateCommand(input)),
    );
  }

  async markAnnounced(id: string, status: JobStatus): Promise<void> {
    const input = this.updateInput(id, "SET announcedStatus = :s", { ":s": status });
    input.ConditionExpression = "#status = :s";
    input.ExpressionAttributeNames = { "#status": "status" };
    await sendConditional("DynamoDB UpdateItem (job announced)", () =>
      this.documents.send(new UpdateCommand(input)),
    );
  }

  states(id: string): Promise<ExecutionState[]> {
    return this.queryAll(
      {
        IndexName: JOBS_INDEX,
        KeyConditionExpression: "jobId = :id",
        ProjectionExpression: "sn, id, #status, #reason, expiresAt",
        ExpressionAttributeNames: { "#status": "status", "#reason": "reason" },
        ExpressionAttributeValues: { ":id": id },
      },
      "job executions",
      toState,
    );
  }

  executions(id: string, page: PageRequest, filter: ExecutionFilter = {}): Promise<Page<Command>> {
    const rule: CursorRule = {
      query: `job-executions|${id}|${JSON.stringify(filter)}`,
      keyAttributes: ["pk", "sk", "jobId", "gsi1sk"],
      accept: (k) => k.jobId === id && (k.sk ?? "").startsWith("CMD#"),
    };
    return this.queryPage(executionsInput(id, filter), page, rule, (item) =>
      readItem(StoredCommandItem, item, ["pk", "sk", "gsi1pk", "gsi1sk", "type", "statusRank"]),
    );
  }

  private updateInput(id: string, expression: string, values: Record<string, unknown>): UpdateCommandInput {
    return {
      TableName: this.tableName,
      Key: jobKey(id),
      UpdateExpression: expression,
      ExpressionAttributeValues: values,
    };
  }

  private async update(id: string, expression: string, values: Record<string, unknown>): Promise<void> {
    const input = this.updateInput(id, expression, values);
    await send("DynamoDB UpdateItem (job)", () => this.documents.send(new UpdateCommand(input)));
  }
}

function toJob(item: Record<string, unknown>): Job {
  const job = readItem(StoredJob, item, TABLE_ATTRIBUTES);
  const counted = item.sliceKeys instanceof Set ? item.sliceKeys : new Set();
  const due = item.slicesDue instanceof Set ? [...item.slicesDue] : [];
  const openSlices = due.filter((slice) => !counted.has(slice)).map(Number);
  return openSlices.length ? { ...job, openSlices } : job;
}

/** What a check reads of an execution (the states query projects these attributes only). */
const StoredState = v.object({
  sn: text,
  id: text,
  status: CommandStatus,
  reason: optionalText,
  expiresAt: optionalText,
});

function toState(item: Record<string, unknown>): ExecutionState {
  return v.parse(StoredState, item);
}

type ExecutionFilter = { statuses?: string[]; canceled?: boolean };

/** The byJob query of a job's executions, filtered by status and by whether a cancel ended them. */
function executionsInput(id: string, filter: ExecutionFilter): QueryInput {
  const values: Record<string, unknown> = { ":id": id };
  const conditions: string[] = [];
  const names: Record<string, string> = {};
  const statuses = filter.statuses ?? [];
  if (statuses.length) {
    statuses.forEach((status, i) => {
      values[`:s${i}`] = status;
    });
    conditions.push(`#status IN (${statuses.map((_, i) => `:s${i}`).join(", ")})`);
    names["#status"] = "status";
  }
  if (filter.canceled !== undefined) {
    values[":canceled"] = CANCELED_PREFIX;
    conditions.push(
      filter.canceled
        ? "begins_with(#reason, :canceled)"
        : "(attribute_not_exists(#reason) OR NOT begins_with(#reason, :canceled))",
    );
    names["#reason"] = "reason";
  }
  return {
    IndexName: JOBS_INDEX,
    KeyConditionExpression: "jobId = :id",
    ExpressionAttributeValues: values,
    ...(conditions.length ? { FilterExpression: conditions.join(" AND ") } : {}),
    ...(conditions.length ? { ExpressionAttributeNames: names } : {}),
  };
}
