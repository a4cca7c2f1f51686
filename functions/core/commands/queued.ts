import type { CommandQueueMessage } from "./types.ts";

/** One queue message to publish; `messageId` identifies it in the batch failure report. */
export interface QueuedCommand extends CommandQueueMessage {
  messageId: string;
  /** How often the queue has handed this message out (SQS `ApproximateReceiveCount`); 1 when unknown. */
  receiveCount?: number;
  /** Not from the queue: an older command taken from the store to keep per-device order. */
  fromStore?: boolean;
}
