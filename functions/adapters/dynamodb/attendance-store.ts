import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type {
  AttendanceStore,
  FanoutClaim,
  PutAttendanceResult,
  StoredAttendance,
} from "../../core/ports.ts";
import { toDomainError } from "../aws-errors.ts";
import { keys } from "./keys.ts";
import { putIfAbsent } from "./put-if-absent.ts";

/** Attendance in DynamoDB: one conditional put per new punch, its failure returns the stored one. */
export class DynamoDbAttendanceStore implements AttendanceStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async putIfAbsent(record: StoredAttendance): Promise<PutAttendanceResult> {
    const result = await putIfAbsent(this.client, this.tableName, toItem(record), "attendance");
    return result.created ? result : { created: false, existing: fromItem(result.existing) };
  }

  async claimFanout(record: StoredAttendance, now: string, staleBefore: string): Promise<FanoutClaim> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(primaryKey(record)),
          UpdateExpression: "SET fanoutClaimAt = :now",
          ConditionExpression:
            "attribute_exists(pk) AND attribute_not_exists(fannedOutAt) AND " +
            "(attribute_not_exists(fanoutClaimAt) OR fanoutClaimAt < :stale)",
          ExpressionAttributeValues: marshall({ ":now": now, ":stale": staleBefore }),
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return "claimed";
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw toDomainError("DynamoDB UpdateItem (attendance fan-out claim)", error);
      }
      // No item: the queue refused the punch and it was discarded (and quarantined); nothing is owed.
      if (!error.Item) return "done";
      return unmarshall(error.Item).fannedOutAt ? "done" : "busy";
    }
  }

  async markFannedOut(record: StoredAttendance, at: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(primaryKey(record)),
          UpdateExpression: "SET fannedOutAt = if_not_exists(fannedOutAt, :at)",
          ExpressionAttributeValues: marshall({ ":at": at }),
        }),
      );
    } catch (error) {
      throw toDomainError("DynamoDB UpdateItem (attendance fan-out)", error);
    }
  }

  async discard(record: StoredAttendance): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: marshall(primaryKey(record)),
          ConditionExpression: "attribute_not_exists(fannedOutAt)",
        }),
      );
    } catch (error) {
      // Fanned out meanwhile by another attempt: it stays, since consumers have it.
      if (error instanceof ConditionalCheckFailedException) return;
      throw toDomainError("DynamoDB DeleteItem (attendance refused by the queue)", error);
    }
  }
}

function primaryKey(record: StoredAttendance) {
  return {
    pk: keys.device(record.sn),
    sk: keys.attendance(record.attTimeNormalized, record.userId, record.attState),
  };
}

function toItem(record: StoredAttendance): Record<string, unknown> {
  return {
    ...primaryKey(record),
    gsi1pk: keys.user(record.userId),
    gsi1sk: keys.userAttendance(record.attTimeNormalized, record.sn),
    type: "attendance",
    ...record,
  };
}

export function fromItem(item: Record<string, unknown>): StoredAttendance {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, type: _type, ...record } = item;
  return record as unknown as StoredAttendance;
}
