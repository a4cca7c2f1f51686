import { PutCommand } from "@aws-sdk/lib-dynamodb";
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
import { conditional } from "./send.ts";
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
    const operation = "DynamoDB PutItem (request claim)";
    const result = await conditional(operation, () =>
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...item, ...expiry(times.expiresAt) },
          ConditionExpression:
            "attribute_not_exists(pk) OR expiresAtMs < :now OR (#state = :running AND leaseUntil < :now)",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":now": times.now, ":running": "running" },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    );
    if (result.passed) return { claimed: true };
    // The condition fails only on an item that is there, which DynamoDB returns.
    if (!result.stored) throw toDomainError(operation, new Error("condition failed without the stored item"));
    return { claimed: false, stored: toStored(result.stored) };
  }

  async keep(key: RequestKey, answer: AppAnswer, expiresAt: number): Promise<boolean> {
    const item = { ...keyOf(key), type: "appreq", state: "answered", leaseUntil: 0 };
    try {
      await this.putItem("request answer", {
        Item: { ...item, answer: JSON.stringify(answer), ...expiry(expiresAt) },
      });
      return true;
    } catch (error) {
      // An answer larger than an item may be (400 KB) is published without being kept.
      if (error instanceof StoreRejectedError) return false;
      throw error;
    }
  }

  async release(key: RequestKey): Promise<void> {
    await this.updateIf("request release", {
      Key: keyOf(key),
      UpdateExpression: "SET leaseUntil = :zero",
      ConditionExpression: "#state = :running",
      ExpressionAttributeNames: { "#state": "state" },
      ExpressionAttributeValues: { ":zero": 0, ":running": "running" },
    });
  }

  async find(key: RequestKey): Promise<StoredRequest | undefined> {
    return this.itemByKey(keyOf(key), "request answer", toStored);
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
