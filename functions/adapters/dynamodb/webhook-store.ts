import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import { FANOUT_TYPES } from "../../core/schemas/webhooks.ts";
import type { DeadLetter, WebhookStore, WebhookSubscription } from "../../core/webhooks/subscription.ts";
import { readItem } from "./items.ts";
import { TTL_ATTRIBUTE } from "./keys.ts";
import { sendConditional } from "./send.ts";
import { type QueryInput, TableAdapter } from "./table-adapter.ts";

/** Every subscription in one partition: a handful, listed in one Query per batch of events. */
const SUBSCRIPTIONS = "WEBHOOKS";
const deadLetters = (id: string) => `WEBHOOK#${id}`;
/** Dead letters are kept this long for an operator to look at. */
const DEAD_LETTER_DAYS = 14;
const TABLE_ATTRIBUTES = ["pk", "sk", "type", "deletedAt", TTL_ATTRIBUTE];

const text = v.string();
const count = v.optional(v.number(), 0);
const StoredSubscription = v.looseObject({
  id: text,
  url: text,
  types: v.array(v.picklist(FANOUT_TYPES)),
  sn: v.optional(text),
  secret: text,
  createdAt: text,
  delivered: count,
  failedAttempts: count,
  deadLettered: count,
  consecutiveFailures: count,
  lastSuccessAt: v.optional(text),
  lastError: v.optional(text),
  lastErrorAt: v.optional(text),
});
const StoredDeadLetter = v.looseObject({
  subscriptionId: text,
  eventId: text,
  body: text,
  attempts: v.number(),
  lastError: text,
  firstAttemptAt: text,
  deadLetteredAt: text,
});

/**
 * Webhook subscriptions (`WEBHOOKS` / `{id}`), secret included: the sender needs it in clear to sign,
 * so it is protected like the rest of the table (encryption at rest, IAM). Dead letters under
 * `WEBHOOK#{id}` / `DEAD#{time}#{eventId}`, expiring after 14 days.
 */
export class DynamoDbWebhookStore extends TableAdapter implements WebhookStore {
  async create(subscription: WebhookSubscription): Promise<void> {
    await this.putItem("webhook", {
      Item: { pk: SUBSCRIPTIONS, sk: subscription.id, type: "webhook", ...subscription },
      ConditionExpression: "attribute_not_exists(pk)",
    });
  }

  async get(id: string): Promise<WebhookSubscription | undefined> {
    const item = await this.itemByKey({ pk: SUBSCRIPTIONS, sk: id }, "webhook", (found) => found);
    return item && item.deletedAt === undefined ? toSubscription(item) : undefined;
  }

  async list(): Promise<WebhookSubscription[]> {
    const items = await this.queryAll(partition(SUBSCRIPTIONS), "webhooks", (item) => item);
    return items.filter((item) => item.deletedAt === undefined).map(toSubscription);
  }

  /**
   * Marked deleted, its secret removed at once, and expired now (DynamoDB's TTL removes the rest within
   * days): the bridge's roles hold no DeleteItem.
   */
  async delete(id: string): Promise<boolean> {
    const now = Math.floor(Date.now() / 1000);
    return this.update(id, `SET deletedAt = :now, ${TTL_ATTRIBUTE} = :now REMOVE secret`, { ":now": now });
  }

  async recordSuccess(id: string, at: string, count: number): Promise<void> {
    await this.update(id, "SET lastSuccessAt = :at, consecutiveFailures = :zero ADD delivered :count", {
      ":at": at,
      ":zero": 0,
      ":count": count,
    });
  }

  async recordFailure(id: string, error: string, at: string): Promise<void> {
    await this.update(
      id,
      "SET lastError = :error, lastErrorAt = :at ADD consecutiveFailures :one, failedAttempts :one",
      { ":error": error.slice(0, 500), ":at": at, ":one": 1 },
    );
  }

  /** Counted on the subscription, then kept; a deleted subscription keeps no letters. */
  async deadLetter(letter: DeadLetter): Promise<void> {
    if (!(await this.update(letter.subscriptionId, "ADD deadLettered :one", { ":one": 1 }))) return;
    const expires = Math.floor(Date.parse(letter.deadLetteredAt) / 1000) + DEAD_LETTER_DAYS * 86_400;
    const item = {
      pk: deadLetters(letter.subscriptionId),
      sk: `DEAD#${letter.deadLetteredAt}#${letter.eventId}`,
      type: "webhook_dead_letter",
      [TTL_ATTRIBUTE]: expires,
      ...letter,
    };
    await this.putItem("webhook dead letter", { Item: item });
  }

  /** The newest `limit` letters: the first page of the partition read backwards. */
  async listDeadLetters(id: string, limit: number): Promise<DeadLetter[]> {
    const { Items = [] } = await this.query(
      { ...partition(deadLetters(id)), ScanIndexForward: false },
      "webhook dead letters",
      { limit },
    );
    return Items.map((item) => readItem(StoredDeadLetter, item, TABLE_ATTRIBUTES));
  }

  /**
   * An update of a subscription that still exists (a delivery finishing after a DELETE writes nothing);
   * false when there is none.
   */
  private update(id: string, expression: string, values: Record<string, unknown>): Promise<boolean> {
    return sendConditional("DynamoDB UpdateItem (webhook)", () =>
      this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: SUBSCRIPTIONS, sk: id },
          UpdateExpression: expression,
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(deletedAt)",
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }
}

/** Every item of partition `pk`, read consistently: a subscription just created or deleted shows at once. */
function partition(pk: string): QueryInput {
  return {
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": pk },
    ConsistentRead: true,
  };
}

function toSubscription(item: Record<string, unknown>): WebhookSubscription {
  return readItem(StoredSubscription, item, TABLE_ATTRIBUTES);
}
