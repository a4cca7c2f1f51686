import { createHash } from "node:crypto";
import type { SQSClient } from "@aws-sdk/client-sqs";
import * as v from "valibot";
import type { CommandQueue } from "../../core/commands/ports.ts";
import type { CommandQueueMessage } from "../../core/commands/types.ts";
import { TransientError } from "../../core/errors.ts";
import { CommandId } from "../../core/schemas/command.ts";
import { SerialNumber } from "../../core/schemas/common.ts";
import { send } from "../aws-errors.ts";
import { sendFifoBatch } from "./fifo-batch.ts";

/**
 * Command ids are unique per device only, and a queue deduplicates queue-wide unless its scope is the
 * message group; prefixing the serial number makes the id safe under either scope. SQS allows 128
 * characters, so a longer one is hashed.
 */
export function deduplicationId(sn: string, dedupeId: string): string {
  const plain = `${sn}/${dedupeId}`;
  return plain.length <= 128 ? plain : createHash("sha256").update(plain).digest("hex");
}

/**
 * A message body of the commands queue (and of its DLQ): a pointer to a stored command, as the bridge
 * enqueues it, or the command's `queued` announcement as the events topic delivers it (raw).
 */
const PointerBody = v.union([
  v.object({ sn: SerialNumber, id: CommandId }),
  v.pipe(
    v.object({ type: v.literal("command_status"), sn: SerialNumber, data: v.object({ id: CommandId }) }),
    v.transform(({ sn, data }) => ({ sn, id: data.id })),
  ),
]);

/** The `{sn, id}` a commands-queue message carries, or `undefined` when it is not one this bridge wrote. */
export function parseCommandPointer(body: string): CommandQueueMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const result = v.safeParse(PointerBody, parsed);
  return result.success ? result.output : undefined;
}

/**
 * The commands FIFO queue: `MessageGroupId` = serial number (per-device order, devices in parallel),
 * `MessageDeduplicationId` from the caller (the command id, or id + occasion for a re-queue).
 */
export class SqsCommandQueue implements CommandQueue {
  readonly fedByAnnouncements: boolean;

  /** `fedByAnnouncements`: the queue is subscribed to the events topic's `queued` announcements. */
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    options: { fedByAnnouncements?: boolean } = {},
  ) {
    this.fedByAnnouncements = options.fedByAnnouncements ?? false;
  }

  async enqueue(messages: Array<CommandQueueMessage & { dedupeId: string }>): Promise<void> {
    // Sequential batches: a device's commands must enter its group in order.
    for (let i = 0; i < messages.length; i += 10) await this.sendBatch(messages.slice(i, i + 10));
  }

  private async sendBatch(batch: Array<CommandQueueMessage & { dedupeId: string }>): Promise<void> {
    const failed = await send("SQS SendMessageBatch (commands)", () =>
      sendFifoBatch(
        this.client,
        this.queueUrl,
        batch.map((message) => ({
          body: JSON.stringify({ sn: message.sn, id: message.id }),
          groupId: message.sn,
          deduplicationId: deduplicationId(message.sn, message.dedupeId),
        })),
      ),
    );
    if (failed.length)
      throw new TransientError(`SQS refused ${failed.length} command(s): ${failed[0]?.Message}`);
  }
}
