import { type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityBatchCommand,
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

/**
 * Distinct attendance eventIds of these devices on the events queue. Messages are only peeked:
 * each is made visible again right away, so real consumers still get them.
 */
export async function countFannedOut(sqs: SQSClient, queueName: string, sns: Set<string>): Promise<number> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
  const seen = new Set<string>();
  const handles: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 60,
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      handles.push(message.ReceiptHandle ?? "");
      const body = JSON.parse(message.Body ?? "{}") as { type?: string; sn?: string; eventId?: string };
      if (body.type === "attendance" && body.sn && sns.has(body.sn) && body.eventId) seen.add(body.eventId);
    }
  }
  for (let i = 0; i < handles.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl,
        Entries: handles
          .slice(i, i + 10)
          .map((ReceiptHandle, j) => ({ Id: String(j), ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
  return seen.size;
}
