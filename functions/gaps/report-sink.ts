import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { send } from "../adapters/aws-errors.ts";
import type { DeviceReportSink } from "../core/gaps/ports.ts";
import type { DeviceReport } from "../core/gaps/types.ts";

/**
 * The ingest's side of the heartbeat reports queue: SendMessage only, in a module of its own so the
 * ingest's bundle holds no ReceiveMessage or DeleteMessage (its role may only send there).
 */
export class SqsDeviceReportSink implements DeviceReportSink {
  constructor(
    protected readonly client: SQSClient,
    protected readonly queueUrl: string,
  ) {}

  async report(report: DeviceReport): Promise<void> {
    await send("SQS SendMessage (device report)", () =>
      this.client.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(report) }),
      ),
    );
  }
}
