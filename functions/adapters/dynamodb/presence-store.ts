import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { PresenceStore, VersionedPresence } from "../../core/ports.ts";
import { derivePresence, type PresenceState } from "../../core/presence.ts";
import { toDomainError } from "../aws-errors.ts";
import { DEVICES_INDEX_KEY, keys } from "./keys.ts";

/** Presence in DynamoDB, one item per device, guarded by a version number. */
export class DynamoDbPresenceStore implements PresenceStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(sn: string): Promise<VersionedPresence | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: keys.device(sn), sk: keys.presence() }),
          ConsistentRead: true,
        }),
      );
      if (!Item) return undefined;
      const item = unmarshall(Item);
      return { state: item.state as PresenceState, version: item.version as number };
    } catch (error) {
      throw toDomainError("DynamoDB GetItem (presence)", error);
    }
  }

  async save(sn: string, state: PresenceState, expectedVersion: number): Promise<boolean> {
    const view = derivePresence(state);
    const item = {
      pk: keys.device(sn),
      sk: keys.presence(),
      type: "presence",
      gsi1pk: DEVICES_INDEX_KEY,
      gsi1sk: sn,
      sn,
      version: expectedVersion + 1,
      state,
      // Flat copies so operators and later queries can read presence without decoding `state`.
      online: view?.online,
      since: view ? new Date(view.since).toISOString() : undefined,
      lastSeenAt: new Date(state.lastSeenAt).toISOString(),
    };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(item, { removeUndefinedValues: true }),
          ConditionExpression: expectedVersion === 0 ? "attribute_not_exists(pk)" : "version = :expected",
          ...(expectedVersion === 0
            ? {}
            : { ExpressionAttributeValues: marshall({ ":expected": expectedVersion }) }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw toDomainError("DynamoDB PutItem (presence)", error);
    }
  }
}
