import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { JobQueue } from "../../core/jobs/ports.ts";
import type { JobMessage } from "../../core/jobs/types.ts";
import { send } from "../aws-errors.ts";

/** The jobs queue: a standard queue, so each message can carry its own delay (rollout pacing, checks). */
export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: JobMessage, delaySeconds = 0): Promise<void> {
    await send("SQS SendMessage (jobs)", () =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: JSON.stringify(message),
          ...(delaySeconds > 0 ? { DelaySeconds: Math.min(900, Math.ceil(delaySeconds)) } : {}),
        }),
      ),
    );
  }
}
