import type { FanoutMessage } from "../../../functions/core/fanout.ts";
import type { EventQueue, SendOptions } from "../../../functions/core/ports.ts";
import { FanoutRefusedError } from "../../../functions/core/refusal.ts";

/** A message as the queue took it, with the deduplication id the SQS adapter would give it. */
export interface QueuedMessage {
  message: FanoutMessage;
  deduplicationId: string;
}

/**
 * The events queue in memory. Every send lands (the FIFO queue's deduplication is left out on purpose:
 * what consumers see must be right without it). `refuse` names messages refused for their content (as
 * the adapter's `FanoutRefusedError`); `failNext` makes the next sends fail as an SQS outage would.
 */
export class MemoryEventQueue implements EventQueue {
  /** Every message taken, in order. */
  readonly sent: FanoutMessage[] = [];
  /** The same, with their deduplication ids. */
  readonly deliveries: QueuedMessage[] = [];
  readonly counts = { sends: 0 };
  failNext = 0;
  refuse: (message: FanoutMessage) => string | undefined = () => undefined;

  async send(messages: FanoutMessage[], options: SendOptions = {}): Promise<void> {
    this.counts.sends++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("events queue unavailable (injected)");
    }
    const refused = messages.flatMap((message) => {
      const reason = this.refuse(message);
      return reason ? [{ eventId: message.eventId, reason }] : [];
    });
    for (const message of messages) {
      if (refused.some((r) => r.eventId === message.eventId)) continue;
      const deduplicationId = options.resendId ? `${message.eventId}:${options.resendId}` : message.eventId;
      this.sent.push(structuredClone(message));
      this.deliveries.push({ message: structuredClone(message), deduplicationId });
    }
    if (refused.length) throw new FanoutRefusedError(refused);
  }

  /** What a consumer that drops repeats by `eventId` gets: each eventId once, the first copy. */
  consumed(): FanoutMessage[] {
    const byId = new Map<string, FanoutMessage>();
    for (const message of this.sent) if (!byId.has(message.eventId)) byId.set(message.eventId, message);
    return [...byId.values()];
  }

  /** The messages of one type (e.g. `command_status`), as consumed. */
  ofType(type: FanoutMessage["type"]): FanoutMessage[] {
    return this.consumed().filter((message) => message.type === type);
  }
}
