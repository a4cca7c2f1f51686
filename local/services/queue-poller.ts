import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

export interface QueuePollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  batchSize?: number;
  /** Cap of the retry backoff; Lambda's event source mapping uses the queue's visibility timeout instead. */
  maxBackoffSeconds?: number;
  onError?: (error: unknown) => void;
}

/**
 * What Lambda's SQS event source mapping does, on a laptop: long-polls the queue, hands the batch to the
 * handler as a real `SQSEvent`, deletes what succeeded and lets the reported failures come back later
 * (exponential backoff by receive count).
 */
export function startQueuePoller(options: QueuePollerOptions) {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await pollOnce(options);
      } catch (error) {
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function pollOnce(options: QueuePollerOptions): Promise<void> {
  const { Messages = [] } = await options.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: options.queueUrl,
      MaxNumberOfMessages: options.batchSize ?? 10,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
    }),
  );
  if (Messages.length === 0) return;
  let failed: Set<string>;
  try {
    const response = await options.handler({ Records: Messages.map((m) => toRecord(m, options.queueUrl)) });
    failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  } catch (error) {
    options.onError?.(error);
    failed = new Set(Messages.map((m) => m.MessageId ?? ""));
  }
  const done = Messages.filter((m) => !failed.has(m.MessageId ?? ""));
  const retry = Messages.filter((m) => failed.has(m.MessageId ?? ""));
  if (done.length) {
    await options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  if (retry.length) {
    await options.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: retry.map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: backoff(m, options.maxBackoffSeconds ?? 30),
        })),
      }),
    );
  }
}

function backoff(message: Message, cap: number): number {
  const receives = Number(message.Attributes?.ApproximateReceiveCount ?? "1");
  return Math.min(cap, 2 ** Math.max(0, receives - 1));
}

function toRecord(message: Message, queueUrl: string): SQSRecord {
  const name = queueUrl.split("/").pop() ?? "queue";
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: recordAttributes(message.Attributes ?? {}),
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${name}`,
    awsRegion: "us-east-1",
  };
}

/** What Lambda's poller puts in a record's `attributes`, from the attributes SQS returned. */
function recordAttributes(received: Partial<Record<string, string>>): SQSRecord["attributes"] {
  return {
    ...received,
    ApproximateReceiveCount: received.ApproximateReceiveCount ?? "1",
    SentTimestamp: received.SentTimestamp ?? String(Date.now()),
    SenderId: received.SenderId ?? "000000000000",
    ApproximateFirstReceiveTimestamp: received.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
}
