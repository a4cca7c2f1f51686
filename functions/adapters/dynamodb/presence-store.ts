import { type AttributeValue, BatchGetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { TransientError } from "../../core/errors.ts";
import type { PresenceRead, PresenceStore } from "../../core/ports.ts";
import { derivePresence, type PresenceState } from "../../core/presence.ts";
import { send } from "../aws-errors.ts";
import { DEVICES_INDEX_KEY, keys } from "./keys.ts";
import { sendConditional } from "./send.ts";
import { TableAdapter } from "./table-adapter.ts";

/**
 * The sort key of the publisher's per-device mark (`command-store.ts`, which writes and deletes it).
 * The presence reads it beside the presence item so coming online needs no Query when nothing waits.
 */
const COMMAND_HOLD_SK = "CMDHOLD";

/** Presence in DynamoDB, one item per device, guarded by a version number. */
export class DynamoDbPresenceStore extends TableAdapter implements PresenceStore {
  async get(sn: string): Promise<PresenceRead> {
    const items = await this.readBoth(sn);
    const presence = items.find((item) => item.sk === keys.presence());
    const holdsCommands = items.some((item) => item.sk === COMMAND_HOLD_SK);
    if (!presence) return { holdsCommands };
    const current = { state: presence.state as PresenceState, version: presence.version as number };
    return { current, holdsCommands };
  }

  /** The presence item and the command mark: one consistent BatchGetItem, again for what it left unread. */
  private async readBoth(sn: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let pending: Array<Record<string, AttributeValue>> = [
      marshall(presenceKey(sn)),
      marshall({ pk: keys.device(sn), sk: COMMAND_HOLD_SK }),
    ];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === 4) throw new TransientError("DynamoDB left presence unread after 4 BatchGetItem calls");
      const { Responses, UnprocessedKeys } = await send("DynamoDB BatchGetItem (presence)", () =>
        this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        ),
      );
      items.push(...(Responses?.[this.tableName] ?? []).map((item) => unmarshall(item)));
      pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return items;
  }

  async save(sn: string, state: PresenceState, expectedVersion: number): Promise<boolean> {
    const view = derivePresence(state);
    const item = {
      ...presenceKey(sn),
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
    return sendConditional("DynamoDB PutItem (presence)", () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(item, { removeUndefinedValues: true }),
          ConditionExpression: expectedVersion === 0 ? "attribute_not_exists(pk)" : "version = :expected",
          ...(expectedVersion === 0
            ? {}
            : { ExpressionAttributeValues: marshall({ ":expected": expectedVersion }) }),
        }),
      ),
    );
  }
}

/** The key of a device's presence item (the readers' `get` reads the same one). */
export function presenceKey(sn: string) {
  return { pk: keys.device(sn), sk: keys.presence() };
}
