import { type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { mapWithConcurrency } from "../../functions/core/concurrency.ts";

/** How many punches of these devices DynamoDB holds. */
export async function countStored(
  dynamodb: DynamoDBClient,
  tableName: string,
  sns: string[],
): Promise<number> {
  const counts = await mapWithConcurrency(sns, 8, async (sn) => {
    let total = 0;
    let start: Record<string, never> | undefined;
    do {
      const page = await dynamodb.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :att)",
          ExpressionAttributeValues: { ":pk": { S: `DEVICE#${sn}` }, ":att": { S: "ATT#" } },
          Select: "COUNT",
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      total += page.Count ?? 0;
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
    return total;
  });
  return counts.reduce((a, b) => a + b, 0);
}

/** Attendance eventIds taken off each events queue by this process, per device: counted again on every read. */
const taken = new Map<string, Map<string, Set<string>>>();

/**
 * Distinct attendance eventIds of these devices that reached the events queue. The queue is FIFO: a
 * device's later messages stay hidden while its first ones are in flight, so they cannot be peeked at.
 * Messages are consumed instead (local stack only: a consumer of your own misses them), and remembered,
 * so reading again counts what an earlier read took.
 */
export async function countFannedOut(sqs: SQSClient, queueName: string, sns: Set<string>): Promise<number> {
  // local/provision.ts adds the `.fifo` suffix to the name it is given.
  const name = queueName.endsWith(".fifo") ? queueName : `${queueName}.fifo`;
  const { QueueUrl = "" } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  const seen = taken.get(QueueUrl) ?? new Map<string, Set<string>>();
  taken.set(QueueUrl, seen);
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      const body = JSON.parse(message.Body ?? "{}") as { type?: string; sn?: string; eventId?: string };
      if (body.type !== "attendance" || !body.sn || !body.eventId) continue;
      const ids = seen.get(body.sn) ?? new Set<string>();
      seen.set(body.sn, ids.add(body.eventId));
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return [...sns].reduce((sum, sn) => sum + (seen.get(sn)?.size ?? 0), 0);
}
