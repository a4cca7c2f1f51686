import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** DynamoDB writes by what they wrote, counted for every client in this process. */
export interface WriteCounts {
  attendance: number;
  tracker: number;
  suspect: number;
  commands: number;
  other: number;
}

/** The write commands, as the client (marshalled items) and the DocumentClient (plain items) name them. */
const KIND_OF_COMMAND: Record<string, "put" | "update" | "delete" | "batch" | "transact"> = {
  PutItemCommand: "put",
  UpdateItemCommand: "update",
  DeleteItemCommand: "delete",
  BatchWriteItemCommand: "batch",
  TransactWriteItemsCommand: "transact",
  PutCommand: "put",
  UpdateCommand: "update",
  DeleteCommand: "delete",
  BatchWriteCommand: "batch",
  TransactWriteCommand: "transact",
};

/**
 * Counts every write request (each item of a batch or transaction as one) made by any DynamoDBClient or
 * DynamoDBDocumentClient in this process, failed conditional writes included (DynamoDB bills them).
 * Returns the counts and a function that stops.
 */
export function countDynamoDbWrites(): { counts: WriteCounts; stop(): void } {
  const counts: WriteCounts = { attendance: 0, tracker: 0, suspect: 0, commands: 0, other: 0 };
  const restore = [DynamoDBClient.prototype, DynamoDBDocumentClient.prototype].map((proto) => {
    const original = proto.send;
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's overloads are not expressible here.
    proto.send = function (this: unknown, command: any, ...rest: any[]) {
      const kind = KIND_OF_COMMAND[command?.constructor?.name as string];
      if (kind) for (const counted of kindsOf(kind, command.input)) counts[counted]++;
      return (original as (...args: unknown[]) => unknown).call(this, command, ...rest);
    } as typeof original;
    return () => {
      proto.send = original;
    };
  });
  const stop = () => {
    for (const undo of restore) undo();
  };
  return { counts, stop };
}

type Kind = (typeof KIND_OF_COMMAND)[string];

function kindsOf(kind: Kind, input: Record<string, unknown>): Array<keyof WriteCounts> {
  if (kind === "batch") {
    const requests = Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>).flat();
    return requests.map(() => "other");
  }
  if (kind === "transact") {
    const items = (input.TransactItems ?? []) as Array<Record<string, Record<string, unknown>>>;
    return items.flatMap((item) => {
      const [[name, part] = []] = Object.entries(item);
      if (!part || name === "ConditionCheck") return [];
      return kindsOf(name === "Put" ? "put" : name === "Delete" ? "delete" : "update", part);
    });
  }
  const sk = skOf((input.Item ?? input.Key ?? {}) as Record<string, unknown>);
  if (sk.startsWith("ATT#"))
    return [kind === "update" ? "suspect" : kind === "delete" ? "other" : "attendance"];
  if (sk === "GAPS") return ["tracker"];
  if (sk.startsWith("CMD#") || sk.startsWith("CMDHOLD")) return ["commands"];
  return ["other"];
}

/** The sort key, marshalled (`{ S: "…" }`, the client) or plain (the DocumentClient). */
function skOf(key: Record<string, unknown>): string {
  const sk = key.sk;
  if (typeof sk === "string") return sk;
  return (sk as { S?: string } | undefined)?.S ?? "";
}
