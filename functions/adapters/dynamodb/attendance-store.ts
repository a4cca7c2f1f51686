import type { AttendanceStore, PutAttendanceResult, StoredAttendance } from "../../core/ports.ts";
import { deleteIf } from "./delete-if.ts";
import { readItem, StoredAttendanceItem } from "./items.ts";
import { keys } from "./keys.ts";
import { putIfAbsent } from "./put-if-absent.ts";
import { TableAdapter } from "./table-adapter.ts";

/** Attendance in DynamoDB: one conditional put per new punch, its failure returns the stored one. */
export class DynamoDbAttendanceStore extends TableAdapter implements AttendanceStore {
  async putIfAbsent(record: StoredAttendance): Promise<PutAttendanceResult> {
    return putIfAbsent(this.client, this.tableName, toItem(record), { what: "attendance", fromItem });
  }

  async discard(record: StoredAttendance): Promise<void> {
    // Gone already, or another attempt's write of the same punch: that one stays.
    await deleteIf(this.documents, this.tableName, "attendance not on the queue", {
      Key: primaryKey(record),
      ConditionExpression: "storedBy = :by",
      ExpressionAttributeValues: { ":by": record.storedBy ?? "" },
    });
  }
}

function primaryKey(record: StoredAttendance) {
  return {
    pk: keys.device(record.sn),
    sk: keys.attendance(record.attTimeNormalized, record.userId, record.attState),
  };
}

/** The item a punch is stored as (exported for the cost model, which counts the indexes it lands in). */
export function toItem(record: StoredAttendance): Record<string, unknown> {
  return {
    ...primaryKey(record),
    gsi1pk: keys.user(record.userId),
    gsi1sk: keys.userAttendance(record.attTimeNormalized, record.sn),
    type: "attendance",
    ...record,
  };
}

export function fromItem(item: Record<string, unknown>): StoredAttendance {
  return readItem(StoredAttendanceItem, item, ["pk", "sk", "gsi1pk", "gsi1sk", "type"]);
}
