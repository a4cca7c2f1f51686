import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { InitializeHandlerOptions, InitializeMiddleware } from "@smithy/types";

/** The one overload of `middlewareStack.add` used here (the clients' union of overloads is not callable). */
type InitializeStack = {
  add(middleware: InitializeMiddleware<object, object>, options: InitializeHandlerOptions): void;
};

const READS = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"]);
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);
const SENDS = new Set(["SendMessage", "SendMessageBatch", "Publish", "PublishBatch"]);

/** Requests of one operation, by kind (what AWS bills) and by name (what the code did). */
export interface RequestCount {
  reads: number;
  writes: number;
  sends: number;
  other: number;
  /** Items read and written (a BatchGetItem of 10 keys reads 10): what DynamoDB bills. */
  itemsRead: number;
  itemsWritten: number;
  calls: string[];
}

/**
 * Counts every request the SDK clients send, once per command before the SDK's retries (`initialize`
 * step), named `DynamoDB PutItem`, `SQS SendMessageBatch (events)`.
 */
export class AwsRequestCounter {
  private readonly calls: string[] = [];
  private items = { read: 0, written: 0 };

  constructor(private readonly queueNames: Record<string, string> = {}) {}

  /** `queueNames` names queues by URL and topics by ARN. */
  attach(client: DynamoDBClient | SQSClient | SNSClient, service: "DynamoDB" | "SQS" | "SNS"): void {
    const stack: InitializeStack = client.middlewareStack;
    stack.add(
      (next, context) => async (args) => {
        const name = (context.commandName ?? "?").replace(/Command$/, "");
        const input = args.input as { QueueUrl?: string; TopicArn?: string };
        const queue = this.queueNames[String(input.QueueUrl ?? input.TopicArn)];
        this.calls.push(`${service} ${name}${queue ? ` (${queue})` : ""}`);
        const items = batchItems(args.input as BatchInput) ?? 1;
        if (READS.has(name)) this.items.read += items;
        if (WRITES.has(name)) this.items.written += items;
        return next(args);
      },
      { step: "initialize", name: "benchCountRequests" },
    );
  }

  /** What `operation` sent, and nothing else (the counter is cleared before). */
  async count(operation: () => Promise<unknown>): Promise<RequestCount> {
    this.calls.length = 0;
    this.items = { read: 0, written: 0 };
    await operation();
    const calls = this.calls.splice(0);
    const { read: itemsRead, written: itemsWritten } = this.items;
    const kind = (call: string) => call.split(" ")[1] as string;
    return {
      reads: calls.filter((c) => READS.has(kind(c))).length,
      writes: calls.filter((c) => WRITES.has(kind(c))).length,
      sends: calls.filter((c) => SENDS.has(kind(c))).length,
      other: calls.filter((c) => ![READS, WRITES, SENDS].some((set) => set.has(kind(c)))).length,
      itemsRead,
      itemsWritten,
      calls,
    };
  }
}

/** `PutItem, SendMessageBatch (events)`: the calls in order, repeats folded (`GetItem ×2`). */
export function describeCalls(count: RequestCount): string {
  const folded: Array<[string, number]> = [];
  for (const call of count.calls.map((c) => c.replace(/^\w+ /, ""))) {
    const last = folded.at(-1);
    if (last && last[0] === call) last[1]++;
    else folded.push([call, 1]);
  }
  return folded.map(([call, n]) => (n > 1 ? `${call} ×${n}` : call)).join(", ") || "none";
}

type BatchInput = {
  RequestItems?: Record<string, { Keys?: unknown[] } | unknown[]>;
  TransactItems?: unknown[];
};

/** Items in a batch or transaction request; undefined for a single-item request. */
function batchItems(input: BatchInput): number | undefined {
  if (input.TransactItems) return input.TransactItems.length;
  if (!input.RequestItems) return undefined;
  let items = 0;
  for (const value of Object.values(input.RequestItems))
    items += Array.isArray(value) ? value.length : (value.Keys?.length ?? 0);
  return items;
}
