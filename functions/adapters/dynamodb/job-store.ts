import {
  ConditionalCheckFailedException,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
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
import { send, toDomainError } from "../aws-errors.ts";
import type { CursorRule } from "./cursor.ts";
import { readItem, StoredCommandItem } from "./items.ts";
import { GSI1 } from "./keys.ts";
import { putIfAbsent } from "./put-if-absent.ts";
import { getItem, sendConditional } from "./send.ts";
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
const TABLE_ATTRIBUTES = ["pk", "sk", "gsi1pk", "gsi1sk", "type", "sliceKeys"];

const StoredJob = v.looseObject({
  id: v.string(),
  op: v.string(),
  status: v.picklist(["in_progress", "completed", "canceled", "aborted"]),
  created: v.number(),
  slicesDone: v.number(),
  checkSeq: v.number(),
});

/**
 * Jobs in the table: `JOB#{id}` / `JOB`, listed newest first through GSI1 (`JOBS`). Each fan-out slice
 * is one update (`ADD` to the counters, its number into a set so a repeat counts once); executions are
 * read through {@link JOBS_INDEX}.
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
    const item = await getItem(this.client, {
      tableName: this.tableName,
      key: jobKey(id),
      consistent: true,
      what: "job",
    });
    return item ? toJob(item) : undefined;
  }

  async list(page: PageRequest): Promise<Page<Job>> {
    const rule: CursorRule = {
      query: "jobs",
      keyAttributes: ["pk", "sk", "gsi1pk", "gsi1sk"],
      accept: (k) => k.gsi1pk === JOBS_LIST_KEY && k.sk === JOB_SK,
    };
    const input = {
      IndexName: GSI1,
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: marshall({ ":pk": JOBS_LIST_KEY }),
      ScanIndexForward: false,
    };
    const result = await this.queryPage(input, page, rule, "jobs");
    return { items: result.items.map(toJob), ...(result.cursor ? { cursor: result.cursor } : {}) };
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

  async recordSlice(
    id: string,
    slice: number,
    created: number,
    last: boolean,
    total?: number,
  ): Promise<SliceRecord> {
    const input = this.sliceInput(id, slice, created, last, total);
    try {
      const { Attributes } = await this.client.send(new UpdateItemCommand(input));
      return Attributes?.status?.S === "in_progress" ? "recorded" : "stopped";
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException))
        throw toDomainError("DynamoDB UpdateItem (job slice)", error);
      const old = error.Item ? unmarshall(error.Item) : undefined;
      return old?.status === "in_progress" ? "repeat" : "stopped";
    }
  }

  /**
   * A slice's update: counted once (its number joins `sliceKeys`), even when the job stopped while the
   * slice was storing its executions: they exist (and are then canceled), so `created` must count them.
   */
  private sliceInput(
    id: string,
    slice: number,
    created: number,
    last: boolean,
    total: number | undefined,
  ): UpdateItemCommandInput {
    const sets = [
      "updatedAt = :at",
      ...(last ? ["lastSlice = :slice"] : []),
      // `total` is one of DynamoDB's reserved words.
      ...(total !== undefined ? ["#total = if_not_exists(#total, :total)"] : []),
    ];
    const input = this.updateInput(
      id,
      `ADD created :n, slicesDone :one, sliceKeys :keys SET ${sets.join(", ")}`,
      {
        ":n": created,
        ":one": 1,
        ":keys": new Set([slice]),
        ":slice": slice,
        ":at": new Date().toISOString(),
        ...(total !== undefined ? { ":total": total } : {}),
      },
    );
    input.ConditionExpression = "attribute_exists(#status) AND NOT contains(sliceKeys, :slice)";
    input.ExpressionAttributeNames = {
      "#status": "status",
      ...(total !== undefined ? { "#total": "total" } : {}),
    };
    input.ReturnValuesOnConditionCheckFailure = "ALL_OLD";
    input.ReturnValues = "ALL_NEW";
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
    input.ReturnValues = "ALL_NEW";
    try {
      const { Attributes } = await this.client.send(new UpdateItemCommand(input));
      return Attributes ? toJob(unmarshall(Attributes)) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw toDomainError("DynamoDB UpdateItem (job status)", error);
    }
  }

  saveCounts(id: string, counts: ExecutionCounts, at: string, seq: number): Promise<boolean> {
    const input = this.updateInput(id, "SET counts = :c, countedAt = :at, checkSeq = :seq", {
      ":c": counts,
      ":at": at,
      ":seq": seq,
      ":prev": seq - 1,
    });
    input.ConditionExpression = "checkSeq = :prev";
    return sendConditional("DynamoDB UpdateItem (job counts)", () =>
      this.client.send(new UpdateItemCommand(input)),
    );
  }

  async markAnnounced(id: string, status: JobStatus): Promise<void> {
    const input = this.updateInput(id, "SET announcedStatus = :s", { ":s": status });
    input.ConditionExpression = "#status = :s";
    input.ExpressionAttributeNames = { "#status": "status" };
    await sendConditional("DynamoDB UpdateItem (job announced)", () =>
      this.client.send(new UpdateItemCommand(input)),
    );
  }

  async states(id: string): Promise<ExecutionState[]> {
    const items = await this.queryAll(
      {
        IndexName: JOBS_INDEX,
        KeyConditionExpression: "jobId = :id",
        ProjectionExpression: "sn, id, #status, #reason, expiresAt",
        ExpressionAttributeNames: { "#status": "status", "#reason": "reason" },
        ExpressionAttributeValues: marshall({ ":id": id }),
      },
      "job executions",
    );
    return items.map(toState);
  }

  async executions(id: string, page: PageRequest, filter: ExecutionFilter = {}): Promise<Page<Command>> {
    const rule: CursorRule = {
      query: `job-executions|${id}|${JSON.stringify(filter)}`,
      keyAttributes: ["pk", "sk", "jobId", "gsi1sk"],
      accept: (k) => k.jobId === id && (k.sk ?? "").startsWith("CMD#"),
    };
    const result = await this.queryPage(executionsInput(id, filter), page, rule, "job executions");
    return {
      items: result.items.map((item) =>
        readItem(StoredCommandItem, item, ["pk", "sk", "gsi1pk", "gsi1sk", "type", "statusRank"]),
      ),
      ...(result.cursor ? { cursor: result.cursor } : {}),
    };
  }

  private updateInput(
    id: string,
    expression: string,
    values: Record<string, unknown>,
  ): UpdateItemCommandInput {
    return {
      TableName: this.tableName,
      Key: marshall(jobKey(id)),
      UpdateExpression: expression,
      ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
    };
  }

  private async update(id: string, expression: string, values: Record<string, unknown>): Promise<void> {
    const input = this.updateInput(id, expression, values);
    await send("DynamoDB UpdateItem (job)", () => this.client.send(new UpdateItemCommand(input)));
  }
}

function toJob(item: Record<string, unknown>): Job {
  return readItem(StoredJob, item, TABLE_ATTRIBUTES) as unknown as Job;
}

function toState(item: Record<string, unknown>): ExecutionState {
  return {
    sn: String(item.sn),
    id: String(item.id),
    status: v.parse(CommandStatus, item.status),
    ...(typeof item.reason === "string" ? { reason: item.reason } : {}),
    ...(typeof item.expiresAt === "string" ? { expiresAt: item.expiresAt } : {}),
  };
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
    ExpressionAttributeValues: marshall(values),
    ...(conditions.length ? { FilterExpression: conditions.join(" AND ") } : {}),
    ...(conditions.length ? { ExpressionAttributeNames: names } : {}),
  };
}
