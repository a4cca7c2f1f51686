import { ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import * as v from "valibot";
import type {
  AnswerStore,
  AppAnswer,
  Claim,
  RequestKey,
  StoredRequest,
} from "../../core/app-requests/ports.ts";
import { StoreRejectedError, toDomainError } from "../aws-errors.ts";
import { TTL_ATTRIBUTE } from "./keys.ts";
import { getItem, sendConditional } from "./send.ts";
import { TableAdapter } from "./table-adapter.ts";

const SORT_KEY = "ANSWER";

/** `APPREQ#{keyName}#{requestId}`: one partition per request, so a busy app never heats one partition. */
const keyOf = (key: RequestKey) => ({ pk: `APPREQ#${key.keyName}#${key.requestId}`, sk: SORT_KEY });

const StoredItem = v.looseObject({
  state: v.picklist(["running", "answered"]),
  leaseUntil: v.number(),
  expiresAtMs: v.number(),
  answer: v.optional(v.string()),
});

/**
 * The API over MQTT's answers by request id (core/app-requests): a conditional put claims an id, the
 * answer replaces the claim, DynamoDB's TTL deletes both. The answer is kept as its JSON text, so it comes
 * back exactly as it was published. TTL deletion lags, so expiry is read from `expiresAtMs`, not from
 * whether the item is still there.
 */
export class DynamoDbAnswerStore extends TableAdapter implements AnswerStore {
  async claim(
    key: RequestKey,
    times: { now: number; leaseUntil: number; expiresAt: number },
  ): Promise<Claim> {
    const item = { ...keyOf(key), type: "appreq", state: "running", leaseUntil: times.leaseUntil };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...item, ...expiry(times.expiresAt) }),
          ConditionExpression:
            "attribute_not_exists(pk) OR expiresAtMs < :now OR (#state = :running AND leaseUntil < :now)",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: marshall({ ":now": times.now, ":running": "running" }),
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) {
        return { claimed: false, stored: toStored(unmarshall(error.Item)) };
      }
      throw toDomainError("DynamoDB PutItem (request claim)", error);
    }
  }

  async keep(key: RequestKey, answer: AppAnswer, expiresAt: number): Promise<boolean> {
    const item = { ...keyOf(key), type: "appreq", state: "answered", leaseUntil: 0 };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...item, answer: JSON.stringify(answer), ...expiry(expiresAt) }),
        }),
      );
      return true;
    } catch (error) {
      const failure = toDomainError("DynamoDB PutItem (request answer)", error);
      // An answer larger than an item may be (400 KB) is published without being kept.
      if (failure instanceof StoreRejectedError) return false;
      throw failure;
    }
  }

  async release(key: RequestKey): Promise<void> {
    await sendConditional("DynamoDB UpdateItem (request release)", () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(keyOf(key)),
          UpdateExpression: "SET leaseUntil = :zero",
          ConditionExpression: "#state = :running",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: marshall({ ":zero": 0, ":running": "running" }),
        }),
      ),
    );
  }

  async find(key: RequestKey): Promise<StoredRequest | undefined> {
    const item = await getItem(this.client, {
      tableName: this.tableName,
      key: keyOf(key),
      consistent: true,
      what: "request answer",
    });
    return item ? toStored(item) : undefined;
  }
}

function expiry(expiresAt: number) {
  return { expiresAtMs: expiresAt, [TTL_ATTRIBUTE]: Math.ceil(expiresAt / 1000) };
}

function toStored(item: Record<string, unknown>): StoredRequest {
  const stored = v.parse(StoredItem, item);
  if (stored.state === "running" || stored.answer === undefined) {
    return { state: "running", leaseUntil: stored.leaseUntil };
  }
  return { state: "answered", answer: JSON.parse(stored.answer) as AppAnswer };
}
