import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import type { Shadow } from "../../core/shadow/document.ts";
import type { ShadowStore } from "../../core/shadow/ports.ts";
import { checkStorable } from "../aws-errors.ts";
import { readItem } from "./items.ts";
import { keys } from "./keys.ts";
import { sendConditional } from "./send.ts";
import { TableAdapter } from "./table-adapter.ts";

const JsonMap = v.record(v.string(), v.unknown());
const Times = v.record(v.string(), v.string());

/** A shadow item as read back; unknown attributes (keys, type) are dropped. */
const StoredShadowItem = v.looseObject({
  sn: v.string(),
  version: v.number(),
  desired: JsonMap,
  reported: JsonMap,
  metadata: v.object({ desired: Times, reported: Times }),
  updatedAt: v.optional(v.string()),
  deltaVersion: v.optional(v.number()),
  deltaHash: v.optional(v.string()),
  previousDeltaVersion: v.optional(v.number()),
  syncedVersion: v.optional(v.number()),
});

/** Shadows in DynamoDB: `DEVICE#{sn}` / `SHADOW`, one item per device, written only at the version read. */
export class DynamoDbShadowStore extends TableAdapter implements ShadowStore {
  async get(sn: string): Promise<Shadow | undefined> {
    return this.itemByKey(shadowKey(sn), "shadow", (item) =>
      readItem(StoredShadowItem, item, ["pk", "sk", "type"]),
    );
  }

  save(shadow: Shadow, expectedVersion: number): Promise<boolean> {
    const item = { ...shadowKey(shadow.sn), type: "shadow", ...shadow };
    checkStorable(item, "shadow");
    return this.putAtVersion(item, expectedVersion, "shadow");
  }

  async markSynced(sn: string, version: number): Promise<void> {
    const update = new UpdateCommand({
      TableName: this.tableName,
      Key: shadowKey(sn),
      UpdateExpression: "SET syncedVersion = :v",
      ConditionExpression:
        "attribute_exists(pk) AND (attribute_not_exists(syncedVersion) OR syncedVersion < :v)",
      ExpressionAttributeValues: { ":v": version },
    });
    // A later version was marked already: it covers this one.
    await sendConditional("DynamoDB UpdateItem (shadow synced)", () => this.documents.send(update));
  }
}

export const shadowKey = (sn: string) => ({ pk: keys.device(sn), sk: keys.shadow() });
