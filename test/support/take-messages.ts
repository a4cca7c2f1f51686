import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { FanoutMessage } from "../../functions/core/fanout.ts";

/**
 * One receive of up to ten messages, deleted at once: a FIFO queue holds a group's later messages back
 * while earlier ones are in flight, so a test that only peeked would never see them.
 */
export async function takeMessages<T = FanoutMessage>(sqs: SQSClient, queueUrl: string): Promise<T[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: 60,
      MessageAttributeNames: ["All"],
    }),
  );
  if (Messages.length === 0) return [];
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
    }),
  );
  return Messages.map((m) => JSON.parse(m.Body ?? "{}") as T);
}
