import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { send } from "../adapters/aws-errors.ts";
import type { DeviceReportSource } from "../core/gaps/ports.ts";
import type { DeviceReport } from "../core/gaps/types.ts";
import { SqsDeviceReportSink } from "./report-sink.ts";

/** ReceiveMessage's largest batch. */
const RECEIVE_BATCH = 10;
/** Longer than a tracker pass; a pass that dies leaves its reports for the next one. */
const VISIBILITY_SECONDS = 300;

/**
 * Heartbeat reports (`last_seq`, `device_time`) on a standard SQS queue: the ingest sends one per
 * heartbeat that carries them (an SQS request, never a table write), the tracker's pass takes them all.
 * Order does not matter: the tracker merges them whatever their order.
 */
export class SqsDeviceReports extends SqsDeviceReportSink implements DeviceReportSource {
  async take(max: number) {
    const reports: DeviceReport[] = [];
    const handles: Array<{ sn: string; handle: string }> = [];
    while (reports.length < max) {
      const { Messages = [] } = await send("SQS ReceiveMessage (device reports)", () =>
        this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: RECEIVE_BATCH,
            VisibilityTimeout: VISIBILITY_SECONDS,
            WaitTimeSeconds: 0,
          }),
        ),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        const report = JSON.parse(message.Body ?? "{}") as DeviceReport;
        handles.push({ sn: report.sn, handle: message.ReceiptHandle ?? "" });
        reports.push(report);
      }
    }
    return {
      reports,
      done: (keep?: ReadonlySet<string>) =>
        this.remove(handles.filter(({ sn }) => !keep?.has(sn)).map(({ handle }) => handle)),
    };
  }

  private async remove(handles: string[]): Promise<void> {
    for (let i = 0; i < handles.length; i += RECEIVE_BATCH) {
      const entries = handles
        .slice(i, i + RECEIVE_BATCH)
        .map((handle, n) => ({ Id: String(n), ReceiptHandle: handle }));
      await send("SQS DeleteMessageBatch (device reports)", () =>
        this.client.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries })),
      );
    }
  }
}
