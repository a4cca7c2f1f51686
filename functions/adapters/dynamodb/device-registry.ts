import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import * as v from "valibot";
import {
  type DeviceIdentity,
  DeviceIdentitySchema,
  type DeviceRegistry,
} from "../../core/broker-access/index.ts";
import { send, toDomainError } from "../aws-errors.ts";
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
    const { Item } = await send("DynamoDB GetItem (device identity)", () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(sn) })),
    );
    return Item ? toIdentity(unmarshall(Item)) : undefined;
  }

  async registerIfAbsent(identity: DeviceIdentity): Promise<void> {
    const item = marshall({ ...this.keyOf(identity.sn), type: "device_identity", ...identity });
    // Registered already: the first registration stands.
    await sendConditional("DynamoDB PutItem (device identity)", () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
  }

  async recordLogin(sn: string, at: string): Promise<void> {
    await this.update(sn, "SET lastLoginAt = :at", { ":at": at }, "attribute_exists(pk)").catch((error) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
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

  async setEnabled(sn: string, enabled: boolean, at: string): Promise<DeviceIdentity | undefined> {
    const values = { ":enabled": enabled, ":at": at };
    try {
      return await this.update(sn, "SET enabled = :enabled, updatedAt = :at", values, "attribute_exists(pk)");
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  private async update(sn: string, expression: string, values: Record<string, unknown>, condition?: string) {
    const command = new UpdateItemCommand({
      TableName: this.tableName,
      Key: this.key(sn),
      UpdateExpression: expression,
      ...(expression.includes("#type") ? { ExpressionAttributeNames: { "#type": "type" } } : {}),
      ExpressionAttributeValues: marshall(values),
      ...(condition ? { ConditionExpression: condition } : {}),
      ReturnValues: "ALL_NEW",
    });
    try {
      const { Attributes } = await this.client.send(command);
      return Attributes ? toIdentity(unmarshall(Attributes)) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      throw toDomainError("DynamoDB UpdateItem (device identity)", error);
    }
  }

  private keyOf(sn: string) {
    return { pk: keys.device(sn), sk: IDENTITY_SK };
  }

  private key(sn: string) {
    return marshall(this.keyOf(sn));
  }
}

/** Items are read back through the schema: extra attributes (keys, type) are dropped, a bad one throws. */
function toIdentity(item: Record<string, unknown>): DeviceIdentity {
  return v.parse(DeviceIdentitySchema, item);
}
