import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { mapWithConcurrency } from "../../core/concurrency.ts";
import { TransientError } from "../../core/errors.ts";
import type { FanoutMessage } from "../../core/fanout.ts";
import type { EventQueue } from "../../core/ports.ts";
import { toDomainError } from "../aws-errors.ts";

const SQS_BATCH_LIMIT = 10;

/** The events queue on SQS: batches of ten, message attributes `type` and `sn` for subscription filters. */
export class SqsEventQueue implements EventQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(messages: FanoutMessage[]): Promise<void> {
    const batches: FanoutMessage[][] = [];
    for (let i = 0; i < messages.length; i += SQS_BATCH_LIMIT)
      batches.push(messages.slice(i, i + SQS_BATCH_LIMIT));
    await mapWithConcurrency(batches, 4, (batch) => this.sendBatch(batch));
  }

  private async sendBatch(batch: FanoutMessage[]): Promise<void> {
    let result: SendMessageBatchCommandOutput;
    try {
      result = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify(message),
            MessageAttributes: {
              type: { DataType: "String", StringValue: message.type },
              sn: { DataType: "String", StringValue: message.sn },
            },
          })),
        }),
      );
    } catch (error) {
      throw toDomainError("SQS SendMessageBatch (events)", error);
    }
    // A partial failure is retried as a whole by the caller: consumers dedupe on eventId.
    if (result.Failed?.length) {
      const first = result.Failed[0];
      throw new TransientError(
        `SQS refused ${result.Failed.length} of ${batch.length} events: ${first?.Message}`,
      );
    }
  }
}
