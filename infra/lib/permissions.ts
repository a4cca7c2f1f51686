import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type IGrantable, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { GSI1 } from "../../functions/adapters/dynamodb/keys.ts";

/**
 * The DynamoDB actions each function's code sends (`functions/adapters/dynamodb/*`), nothing more; Scan
 * only for the API's attendance export. test/infra/iam-actions.test.ts checks these against the SDK
 * commands each function's bundle holds, so a store that starts sending another operation fails there.
 */
export const TABLE_ACTIONS = {
  /**
   * Attendance put, presence (read with the device's command marks: BatchGetItem), quarantine
   * (BatchWriteItem), command delivery, pending commands (GSI); DeleteItem takes back a punch it stored
   * but could not queue (`discard`); UpdateItem also lifts a settled "commands may wait" mark.
   */
  ingest: [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:Query",
  ],
  /** Commands, API keys, the readers (GSI queries, attendance scan). */
  api: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:Scan"],
  /**
   * Reads a batch of commands (BatchGetItem), lists a device's older unpublished commands (GSI), moves
   * statuses, and holds a device's commands while EMQX is down: the hold is one item it updates and, on
   * release, deletes (DeleteItem, conditional on the hold's own time); the "commands may wait" mark is
   * another it updates (creating it if absent). It never creates by a put: no PutItem, so
   * it cannot create attendance; IAM cannot stop an UpdateItem or DeleteItem on an existing punch, because
   * conditions only see the partition key and commands share the device partition with attendance.
   */
  publisher: [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
  ],
  /** The commands DLQ consumer: reads a command and moves it to `failed`. */
  commandDlq: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
} as const;

export interface TableGrant {
  actions: readonly string[];
  /** Also Query on the GSI (no code scans it). */
  index: boolean;
}

/** Exactly these actions on the table (and on `gsi1` by name, so no wildcard). */
export function grantTable(grantee: IGrantable, table: ITable, grant: TableGrant): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: [...grant.actions], resources: [table.tableArn] }),
  );
  if (grant.index && grant.actions.includes("dynamodb:Query")) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["dynamodb:Query"], resources: [`${table.tableArn}/index/${GSI1}`] }),
    );
  }
}

/** `sqs:SendMessage` only (SendMessageBatch is authorized by it): no receive, no delete, no purge. */
export function grantSend(grantee: IGrantable, ...queues: IQueue[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ["sqs:SendMessage"], resources: queues.map((queue) => queue.queueArn) }),
  );
}

/**
 * `sns:Publish` on the events topic only (PublishBatch is authorized by it): every function that sends
 * events (the `EventQueue` port publishes to the topic when `EVENTS_TOPIC_ARN` is set).
 */
export function grantPublish(grantee: IGrantable, topic: ITopic): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ["sns:Publish"], resources: [topic.topicArn] }),
  );
}
