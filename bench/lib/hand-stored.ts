import { randomUUID } from "node:crypto";
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import { toItem } from "../../functions/adapters/dynamodb/attendance-store.ts";
import { MARSHALL_OPTIONS } from "../../functions/adapters/dynamodb/client.ts";
import { toEntry } from "../../functions/adapters/event-batches.ts";
import { attendanceMessage, toStored } from "../../functions/core/attendance.ts";
import type { AttendanceRecord } from "../../functions/core/schemas/attendance.ts";

/** A punch as a terminal sends it (bench/lib/fixture.ts's `punch`). */
export interface RawPunch {
  user_id: string;
  att_time: string;
  att_state: number;
}

/**
 * The attendance item a hand-written handler stores for `punch`, with the table's keys and index keys
 * and no validation: what the floors of the ingest and HTTP benchmarks write.
 */
export function handStoredItem(sn: string, punch: RawPunch) {
  return {
    pk: `DEVICE#${sn}`,
    sk: `ATT#${punch.att_time}#${punch.user_id}`,
    gsi1pk: `ATT#${punch.att_time.slice(0, 10)}`,
    gsi1sk: `${punch.att_time}#${sn}#${punch.user_id}`,
    sn,
    userId: punch.user_id,
    attTime: punch.att_time,
    attState: punch.att_state,
    eventId: `${sn}-${punch.att_time}-${punch.user_id}`,
    receivedAt: new Date().toISOString(),
    transport: "mqtt",
  };
}

/** Where the hand-written floors store and send: the same clients, table and events queue as the ingest. */
export interface HandStoreTarget {
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  tableName: string;
  queueUrl: string;
}

type HandStoredItem = ReturnType<typeof handStoredItem>;

/**
 * The one conditional PutItem a punch needs; a duplicate rejects with `ConditionalCheckFailedException`,
 * which holds the stored item when `returnStored` asks for it (`ReturnValuesOnConditionCheckFailure`).
 */
export function putByHand(target: HandStoreTarget, item: HandStoredItem, { returnStored = false } = {}) {
  return target.dynamodb.send(
    new PutItemCommand({
      TableName: target.tableName,
      Item: marshall(item),
      ConditionExpression: "attribute_not_exists(pk)",
      ...(returnStored ? { ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const } : {}),
    }),
  );
}

/** The one SendMessage a stored punch needs, with the attributes and FIFO ids the ingest's message has. */
export function sendByHand(target: HandStoreTarget, item: HandStoredItem) {
  const fifo = target.queueUrl.endsWith(".fifo");
  return target.sqs.send(
    new SendMessageCommand({
      QueueUrl: target.queueUrl,
      MessageBody: JSON.stringify({ type: "attendance", ...item }),
      MessageAttributes: {
        type: { DataType: "String", StringValue: "attendance" },
        sn: { DataType: "String", StringValue: item.sn },
      },
      ...(fifo ? { MessageGroupId: item.sn, MessageDeduplicationId: item.eventId } : {}),
    }),
  );
}

/** Whether a conditional put wrote: false when its condition failed (the punch was stored before). */
async function wrote(put: Promise<unknown>): Promise<boolean> {
  try {
    await put;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** One punch stored and sent by hand; false, with nothing sent, when it was stored before (a duplicate). */
export async function storeByHand(target: HandStoreTarget, item: HandStoredItem): Promise<boolean> {
  if (!(await wrote(putByHand(target, item)))) return false;
  await sendByHand(target, item);
  return true;
}

/**
 * The floor's two bare requests carrying the data the design stores and sends instead of the hand item:
 * the item as the attendance store writes it (`toItem`: stable `eventId`, normalized time, the user
 * index's keys, the attempt's `storedBy`, EMQX's message id) and the event as the events queue sends it
 * (`toEntry`: the fan-out message, ASCII JSON). What storing and announcing that punch costs with no
 * handler around it; false, with nothing sent, when it was stored before. Its put asks for the stored
 * item on a failed condition, as the attendance store's does (DESIGN §4), which changes nothing for a
 * new punch.
 */
export async function storeDesignedByHand(
  target: HandStoreTarget,
  sn: string,
  punch: AttendanceRecord,
  emqxId: string,
): Promise<boolean> {
  const input = { sn, records: [punch], transport: "mqtt" as const, emqxId };
  const record = { ...toStored(punch, input, new Date().toISOString()), storedBy: randomUUID() };
  const put = target.dynamodb.send(
    new PutItemCommand({
      TableName: target.tableName,
      Item: marshall(toItem(record), MARSHALL_OPTIONS),
      ConditionExpression: "attribute_not_exists(pk)",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    }),
  );
  if (!(await wrote(put))) return false;
  const entry = toEntry(attendanceMessage(record), {});
  await target.sqs.send(
    new SendMessageCommand({
      QueueUrl: target.queueUrl,
      MessageBody: entry.body,
      MessageAttributes: entry.attributes,
      MessageGroupId: sn,
      MessageDeduplicationId: entry.deduplicationId,
    }),
  );
  return true;
}
