import { DeleteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import {
  type CommandBatchRead,
  type CommandPage,
  type CommandStore,
  type CreateCommandResult,
  commandKey,
} from "../../core/commands/ports.ts";
import { KEEPS_REASON, STATUS_RANK } from "../../core/commands/status.ts";
import type { Command, CommandQueueMessage, TransitionFields } from "../../core/commands/types.ts";
import type { CommandStatus } from "../../core/schemas/command.ts";
import { checkStorable, send } from "../aws-errors.ts";
import { itemsByKeys } from "./batch-get.ts";
import { TRANSPORT_SK, transportKey } from "./device-transport.ts";
import { readItem, StoredCommandItem, StoredHoldItem, StoredTransportItem } from "./items.ts";
import { GSI1, keys } from "./keys.ts";
import { putIfAbsent } from "./put-if-absent.ts";
import { sendConditional } from "./send.ts";
import { TableAdapter } from "./table-adapter.ts";

/**
 * Commands in DynamoDB: `DEVICE#{sn}` / `CMD#{id}`, indexed by (device, status) in creation order, with a
 * numeric `statusRank` so a status change is one conditional update that can only move forward.
 */
export class DynamoDbCommandStore extends TableAdapter implements CommandStore {
  create(command: Command): Promise<CreateCommandResult> {
    return putIfAbsent(this.client, this.tableName, toItem(command), { what: "command", fromItem });
  }

  async get(sn: string, id: string): Promise<Command | undefined> {
    return this.itemByKey(primaryKey(sn, id), "command", fromItem);
  }

  async readBatch(pointers: readonly CommandQueueMessage[]): Promise<CommandBatchRead> {
    const devices = [...new Set(pointers.map((p) => p.sn))];
    const wanted = [
      ...new Map(pointers.map((p) => [commandKey(p.sn, p.id), primaryKey(p.sn, p.id)])).values(),
      ...devices.map(holdKey),
      ...devices.map(transportKey),
    ];
    const read: CommandBatchRead = { commands: new Map(), heldThrough: new Map(), httpOnly: new Set() };
    for (const item of await itemsByKeys(this.documents, this.tableName, "commands", wanted)) {
      if (item.sk === HOLD_SK) {
        const hold = v.parse(StoredHoldItem, item);
        read.heldThrough.set(hold.sn, hold.heldThrough);
      } else if (item.sk === TRANSPORT_SK) {
        const { sn, transport } = v.parse(StoredTransportItem, item);
        if (transport === "http") read.httpOnly?.add(sn);
      } else {
        const command = fromItem(item);
        read.commands.set(commandKey(command.sn, command.id), command);
      }
    }
    return read;
  }

  async hold(sn: string, through: string): Promise<void> {
    const update = new UpdateCommand({
      ...this.holdItem(sn),
      UpdateExpression: "SET heldThrough = :t, sn = :sn",
      ConditionExpression: "attribute_not_exists(heldThrough) OR heldThrough < :t",
      ExpressionAttributeValues: { ":t": through, ":sn": sn },
    });
    // A later hold already stands: it covers this one.
    await sendConditional("DynamoDB UpdateItem (command hold)", () => this.documents.send(update));
  }

  async release(sn: string, through: string): Promise<void> {
    const remove = new DeleteCommand({
      ...this.holdItem(sn),
      ConditionExpression: "heldThrough = :t",
      ExpressionAttributeValues: { ":t": through },
    });
    // Another hold replaced it: that one stays.
    await sendConditional("DynamoDB DeleteItem (command hold)", () => this.documents.send(remove));
  }

  async markWaiting(sn: string, at: string): Promise<void> {
    // An update, not a put, though it may create the item: the publisher is granted no PutItem.
    const update = new UpdateCommand({
      TableName: this.tableName,
      Key: waitingKey(sn),
      UpdateExpression: "SET markedAt = :at, sn = :sn",
      ExpressionAttributeValues: { ":at": at, ":sn": sn },
    });
    await send("DynamoDB UpdateItem (commands waiting)", () => this.documents.send(update));
  }

  async clearWaiting(sn: string, markedAt: string): Promise<void> {
    // The item stays, without a time: it tells the presence read that no command waits.
    const lift = new UpdateCommand({
      TableName: this.tableName,
      Key: waitingKey(sn),
      UpdateExpression: "REMOVE markedAt",
      ConditionExpression: "markedAt = :m",
      ExpressionAttributeValues: { ":m": markedAt },
    });
    // Set again since: that mark stays for a later listing.
    await sendConditional("DynamoDB UpdateItem (commands waiting)", () => this.documents.send(lift));
  }

  async markNoneWaiting(sn: string): Promise<void> {
    const create = new UpdateCommand({
      TableName: this.tableName,
      Key: waitingKey(sn),
      UpdateExpression: "SET sn = :sn",
      ConditionExpression: "attribute_not_exists(pk)",
      ExpressionAttributeValues: { ":sn": sn },
    });
    // The publisher marked it meanwhile: that mark stands.
    await sendConditional("DynamoDB UpdateItem (commands waiting)", () => this.documents.send(create));
  }

  /** Where a device's hold lives: one item beside its commands. */
  private holdItem(sn: string) {
    return { TableName: this.tableName, Key: holdKey(sn) };
  }

  async transition(
    sn: string,
    id: string,
    to: CommandStatus,
    at: string,
    fields: TransitionFields = {},
    onlyFrom: readonly CommandStatus[] = [],
  ): Promise<Command | undefined> {
    const update = statusUpdate(sn, to, at, fields, onlyFrom);
    checkStorable(update.ExpressionAttributeValues, "command status");
    // `undefined` when the condition failed: the command is gone, or already at or past `to`.
    return this.updated("command status", { Key: primaryKey(sn, id), ...update }, fromItem);
  }

  async markEnqueued(sn: string, id: string, at: string, announced: CommandStatus): Promise<void> {
    const update = new UpdateCommand({
      TableName: this.tableName,
      Key: primaryKey(sn, id),
      // A publisher that already moved and announced the command keeps its newer announcement.
      UpdateExpression:
        "SET enqueuedAt = if_not_exists(enqueuedAt, :at), announcedStatus = if_not_exists(announcedStatus, :s)",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":at": at, ":s": announced },
    });
    // No such command (any more): nothing to mark.
    await sendConditional("DynamoDB UpdateItem (command enqueued)", () => this.documents.send(update));
  }

  markAnnounced(sn: string, id: string, status: CommandStatus): Promise<void> {
    // Only record an announcement of the status the command still has; a newer one is announced by its mover.
    return this.set(sn, id, "announcedStatus = :v", status, "#status = :v");
  }

  listByStatus(sn: string, status: CommandStatus, limit: number, cursor?: string): Promise<CommandPage> {
    const pk = statusKey(sn, status);
    return this.queryPage(
      { IndexName: GSI1, KeyConditionExpression: "gsi1pk = :pk", ExpressionAttributeValues: { ":pk": pk } },
      { limit, cursor },
      {
        query: `commands-by-status|${pk}`,
        keyAttributes: ["pk", "sk", "gsi1pk", "gsi1sk"],
        accept: (k) => k.gsi1pk === pk && k.pk === keys.device(sn) && (k.sk ?? "").startsWith("CMD#"),
      },
      fromItem,
    );
  }

  listByDevice(sn: string, limit: number, cursor?: string): Promise<CommandPage> {
    const pk = keys.device(sn);
    return this.queryPage(
      {
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :cmd)",
        ExpressionAttributeValues: { ":pk": pk, ":cmd": "CMD#" },
      },
      { limit, cursor },
      {
        query: `commands|${pk}`,
        keyAttributes: ["pk", "sk"],
        accept: (k) => k.pk === pk && (k.sk ?? "").startsWith("CMD#"),
      },
      fromItem,
    );
  }

  countByStatus(sn: string, status: CommandStatus): Promise<number> {
    return this.countAll(
      {
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": statusKey(sn, status) },
      },
      "command count",
    );
  }

  private async set(
    sn: string,
    id: string,
    update: string,
    value: string,
    condition?: string,
  ): Promise<void> {
    const command = new UpdateCommand({
      TableName: this.tableName,
      Key: primaryKey(sn, id),
      UpdateExpression: `SET ${update}`,
      ConditionExpression: condition ? `attribute_exists(pk) AND ${condition}` : "attribute_exists(pk)",
      ...(condition?.includes("#status") ? { ExpressionAttributeNames: { "#status": "status" } } : {}),
      ExpressionAttributeValues: { ":v": value },
    });
    // No such command, or `condition` says it moved on already: nothing to set.
    await sendConditional("DynamoDB UpdateItem (command)", () => this.documents.send(command));
  }
}

const primaryKey = (sn: string, id: string) => ({ pk: keys.device(sn), sk: keys.command(id) });
const HOLD_SK = keys.commandHold();
/** The device's hold mark (the presence store reads it too: functions/adapters/dynamodb/presence-store.ts). */
const holdKey = (sn: string) => ({ pk: keys.device(sn), sk: HOLD_SK });
/** The device's "commands may wait" mark, read with its presence (presence-store.ts). */
const waitingKey = (sn: string) => ({ pk: keys.device(sn), sk: keys.commandsWaiting() });
const statusKey = (sn: string, status: CommandStatus) => keys.commandsByStatus(sn, status);

/** The conditional update of a status change: only forward, and only from `onlyFrom` when given. */
function statusUpdate(
  sn: string,
  to: CommandStatus,
  at: string,
  fields: TransitionFields,
  onlyFrom: readonly CommandStatus[],
) {
  const values: Record<string, unknown> = {
    ":to": to,
    ":rank": STATUS_RANK[to],
    ":at": at,
    ":g": statusKey(sn, to),
  };
  const names: Record<string, string> = { "#status": "status" };
  const sets = ["#status = :to", "statusRank = :rank", "updatedAt = :at", "gsi1pk = :g"];
  // Names go through placeholders: `result` and `reason` may be DynamoDB reserved words.
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    sets.push(`#${name} = :${name}`);
    names[`#${name}`] = name;
    values[`:${name}`] = value;
  }
  // A reason explains a pending, failed or expired command; it is stale once the command moves on.
  const clearReason = fields.reason === undefined && !KEEPS_REASON.includes(to);
  if (clearReason) names["#reason"] = "reason";
  const from = onlyFrom.map((status, i) => {
    values[`:from${i}`] = status;
    return `:from${i}`;
  });
  return {
    UpdateExpression: `SET ${sets.join(", ")}${clearReason ? " REMOVE #reason" : ""}`,
    ConditionExpression: `attribute_exists(pk) AND statusRank < :rank${from.length ? ` AND #status IN (${from.join(", ")})` : ""}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

function toItem(command: Command): Record<string, unknown> {
  return {
    ...primaryKey(command.sn, command.id),
    gsi1pk: statusKey(command.sn, command.status),
    gsi1sk: `${command.createdAt}#${command.id}`,
    type: "command",
    statusRank: STATUS_RANK[command.status],
    ...command,
  };
}

function fromItem(item: Record<string, unknown>): Command {
  return readItem(StoredCommandItem, item, ["pk", "sk", "gsi1pk", "gsi1sk", "type", "statusRank"]);
}
