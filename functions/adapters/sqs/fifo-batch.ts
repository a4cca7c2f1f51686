import {
  type BatchResultErrorEntry,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";

/** One message for a FIFO queue. */
export interface FifoMessage {
  body: string;
  /** Messages of one group are delivered in the order sent. */
  groupId: string;
  deduplicationId: string;
  attributes?: Record<string, MessageAttributeValue>;
}

/**
 * One SendMessageBatch (at most ten messages), each entry's `Id` its index in `messages`; returns the
 * entries SQS did not take. A failure of the whole call is thrown as the SDK raised it.
 */
export async function sendFifoBatch(
  client: SQSClient,
  queueUrl: string,
  messages: FifoMessage[],
): Promise<BatchResultErrorEntry[]> {
  const result = await client.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((message, index) => ({
        ...fifoEntry(message, index),
        MessageBody: message.body,
      })),
    }),
  );
  return result.Failed ?? [];
}

/**
 * A batch entry's fields but its body, which SQS (`MessageBody`) and SNS (`Message`) name differently:
 * `Id` is its index in the batch, the group and deduplication ids are the FIFO's.
 */
export function fifoEntry(message: Omit<FifoMessage, "body">, index: number) {
  return {
    Id: String(index),
    ...(message.attributes ? { MessageAttributes: message.attributes } : {}),
    MessageGroupId: message.groupId,
    MessageDeduplicationId: message.deduplicationId,
  };
}
