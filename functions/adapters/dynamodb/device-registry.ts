import { PutCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import {
  type DeviceIdentity,
  DeviceIdentitySchema,
  type DeviceRegistry,
} from "../../core/broker-access/index.ts";
import { keys } from "./keys.ts";
import { sendConditional } from "./send.ts";
import { TableAdapter } from "./table-adapter.ts";

const IDENTITY_SK = "IDENTITY";

/**
 * The device registry in the table, `DEVICE#{sn}` / `IDENTITY`, next to the device's presence. A login
 * reads it once, eventually consistent (half a read unit): a revocation is seen within about a second,
 * and the live session is kicked through EMQX anyway.
 */
export class DynamoDbDeviceRegistry extends TableAdapter implements DeviceRegistry {
  async find(sn: string): Promise<DeviceIdentity | undefined> {
    return this.itemByKey(keyOf(sn), "device identity", toIdentity, false);
  }

  async registerIfAbsent(identity: DeviceIdentity): Promise<void> {
    const item = { ...keyOf(identity.sn), type: "device_identity", ...identity };
    // Registered already: the first registration stands.
    await sendConditional("DynamoDB PutItem (device identity)", () =>
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
  }

  async recordLogin(sn: string, at: string): Promise<void> {
    // No identity (any more): nothing to record.
    await this.update(sn, "SET lastLoginAt = :at", { ":at": at }, "attribute_exists(pk)");
  }

  async rotate(sn: string, at: string): Promise<DeviceIdentity> {
    const expression =
      "SET generation = if_not_exists(generation, :zero) + :one, enabled = if_not_exists(enabled, :true), " +
      "createdAt = if_not_exists(createdAt, :at), registeredBy = if_not_exists(registeredBy, :operator), " +
      "sn = :sn, #type = :type, updatedAt = :at";
    const values = { ":zero": 0, ":one": 1, ":true": true, ":at": at, ":operator": "operator", ":sn": sn };
    const updated = await this.update(sn, expression, { ...values, ":type": "device_identity" });
    if (!updated) throw new Error("UpdateItem with ReturnValues ALL_NEW returned no item");
    return updated;
  }

  /** `undefined` when there is no such device. */
  setEnabled(sn: string, enabled: boolean, at: string): Promise<DeviceIdentity | undefined> {
    const values = { ":enabled": enabled, ":at": at };
    return this.update(sn, "SET enabled = :enabled, updatedAt = :at", values, "attribute_exists(pk)");
  }

  /** The identity after the update, or `undefined` when `condition` failed. */
  private async update(sn: string, expression: string, values: Record<string, unknown>, condition?: string) {
    const input = {
      Key: keyOf(sn),
      UpdateExpression: expression,
      ...(expression.includes("#type") ? { ExpressionAttributeNames: { "#type": "type" } } : {}),
      ExpressionAttributeValues: values,
      ...(condition ? { ConditionExpression: condition } : {}),
    };
    return this.updated("device identity", input, toIdentity);
  }
}

const keyOf = (sn: string) => ({ pk: keys.device(sn), sk: IDENTITY_SK });

/** Items are read back through the schema: extra attributes (keys, type) are dropped, a bad one throws. */
function toIdentity(item: Record<string, unknown>): DeviceIdentity {
  return v.parse(DeviceIdentitySchema, item);
}
