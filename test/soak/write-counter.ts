import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** DynamoDB writes by what they wrote, counted for every client in this process. */
export interface WriteCounts {
  attendance: number;
  tracker: number;
  suspect: number;
  commands: number;
  other: number;
}

const WRITES = new Set([
  "PutItemCommand",
  "UpdateItemCommand",
  "DeleteItemCommand",
  "BatchWriteItemCommand",
  "TransactWriteItemsCommand",
]);

/**
 * Counts every write request (each item of a batch as one) made by any DynamoDBClient in this process,
 * failed conditional writes included (DynamoDB bills them). Returns the counts and a function that stops.
 */
export function countDynamoDbWrites(): { counts: WriteCounts; stop(): void } {
  const counts: WriteCounts = { attendance: 0, tracker: 0, suspect: 0, commands: 0, other: 0 };
  const original = DynamoDBClient.prototype.send;
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's overloads are not expressible here.
  DynamoDBClient.prototype.send = function (this: DynamoDBClient, command: any, ...rest: any[]) {
    const name = command?.constructor?.name as string;
    if (WRITES.has(name)) for (const kind of kindsOf(name, command.input)) counts[kind]++;
    return (original as (...args: unknown[]) => unknown).call(this, command, ...rest);
  } as typeof original;
  const stop = () => {
    DynamoDBClient.prototype.send = original;
  };
  return { counts, stop };
}

function kindsOf(name: string, input: Record<string, unknown>): Array<keyof WriteCounts> {
  if (name === "BatchWriteItemCommand") {
    const requests = Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>).flat();
    return requests.map(() => "other");
  }
  const key = (input.Item ?? input.Key ?? {}) as Record<string, { S?: string }>;
  const sk = key.sk?.S ?? "";
  if (sk.startsWith("ATT#"))
    return [name === "UpdateItemCommand" ? "suspect" : name === "DeleteItemCommand" ? "other" : "attendance"];
  if (sk === "GAPS") return ["tracker"];
  if (sk.startsWith("CMD#") || sk.startsWith("CMDHOLD")) return ["commands"];
  return ["other"];
}
