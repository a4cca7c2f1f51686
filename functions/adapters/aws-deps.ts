import { systemClock } from "../core/ports.ts";
import type { IngestConfig } from "./config.ts";
import { DynamoDbAttendanceStore } from "./dynamodb/attendance-store.ts";
import { createDynamoDbClient } from "./dynamodb/client.ts";
import { DynamoDbPresenceStore } from "./dynamodb/presence-store.ts";
import { DynamoDbQuarantineStore } from "./dynamodb/quarantine-store.ts";
import { createSqsClient } from "./sqs/client.ts";
import { SqsEventQueue } from "./sqs/event-queue.ts";

/** The ingest's ports on AWS (or on DynamoDB Local and the SQS stand-in when endpoints are set). */
export function createIngestDeps(config: IngestConfig) {
  const dynamodb = createDynamoDbClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT });
  const sqs = createSqsClient({ region: config.AWS_REGION, endpoint: config.SQS_ENDPOINT });
  return {
    attendance: new DynamoDbAttendanceStore(dynamodb, config.TABLE_NAME),
    presence: new DynamoDbPresenceStore(dynamodb, config.TABLE_NAME),
    quarantine: new DynamoDbQuarantineStore(dynamodb, config.TABLE_NAME, config.QUARANTINE_RETENTION_DAYS),
    events: new SqsEventQueue(sqs, config.EVENTS_QUEUE_URL),
    clock: systemClock,
  };
}
