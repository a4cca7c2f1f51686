import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import {
  DeduplicationScope,
  FifoThroughputLimit,
  Queue,
  QueueEncryption,
  type QueueProps,
} from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { GSI1, TTL_ATTRIBUTE } from "../../functions/adapters/dynamodb/keys.ts";

/** Receives of an events message before its DLQ (the same as the local stack, `local/provision.ts`). */
export const EVENTS_MAX_RECEIVES = 5;
/**
 * Receives of a command message before its DLQ. An EMQX outage does not spend them: the publisher puts
 * a message held back `COMMANDS_RECYCLE_AFTER_RECEIVES` times on the queue again as a fresh one.
 */
export const COMMANDS_MAX_RECEIVES = 10;
/** Half the budget: the rest is room for the re-send itself to fail (SQS briefly unavailable). */
export const COMMANDS_RECYCLE_AFTER_RECEIVES = COMMANDS_MAX_RECEIVES / 2;
/** The commands DLQ consumer's timeout; its queue's visibility timeout is six times it. */
export const COMMAND_DLQ_TIMEOUT = Duration.seconds(10);
/**
 * Visibility timeout of a queue a function consumes: AWS asks for at least six times the function's
 * timeout (Lambda "Using Lambda with Amazon SQS", configuring a queue for an event source).
 */
export const VISIBILITY_PER_FUNCTION_TIMEOUT = 6;

const encrypted: Pick<QueueProps, "encryption" | "enforceSSL"> = {
  encryption: QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
};

export interface BridgeStorageProps {
  tableRemovalPolicy: RemovalPolicy;
  /** The publisher's timeout; the commands queue's visibility timeout is six times it. */
  publisherTimeout: Duration;
}

/**
 * The one table (`functions/adapters/dynamodb/table.ts` makes the same on DynamoDB Local) and the two
 * queues with their DLQs.
 */
export class BridgeStorage extends Construct {
  readonly table: Table;
  readonly eventsQueue: Queue;
  readonly eventsDlq: Queue;
  readonly commandsQueue: Queue;
  readonly commandsDlq: Queue;

  constructor(scope: Construct, id: string, props: BridgeStorageProps) {
    super(scope, id);
    this.table = new Table(this, "Table", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
      sortKey: { name: "sk", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // A KMS key in the account (aws/dynamodb): its use shows in CloudTrail; no key to pay for or manage.
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.tableRemovalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: GSI1,
      partitionKey: { name: "gsi1pk", type: AttributeType.STRING },
      sortKey: { name: "gsi1sk", type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });

    // A FIFO DLQ restarts a message's retention when it moves there; 14 days to look into it.
    this.eventsDlq = new Queue(this, "EventsDlq", {
      ...encrypted,
      fifo: true,
      retentionPeriod: Duration.days(14),
    });
    // FIFO: a device's messages in order (group = sn), and a repeat of an eventId within 5 minutes dropped
    // by SQS (the sender sets MessageDeduplicationId = eventId); docs/decisions.md, "One write, one send".
    this.eventsQueue = new Queue(this, "Events", {
      ...encrypted,
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: deduplication and the throughput limit per device, not per queue.
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.eventsDlq, maxReceiveCount: EVENTS_MAX_RECEIVES },
    });

    // Consumed by the DLQ consumer, which marks each command failed; what it cannot handle yet stays.
    this.commandsDlq = new Queue(this, "CommandsDlq", {
      ...encrypted,
      fifo: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(COMMAND_DLQ_TIMEOUT.toSeconds() * VISIBILITY_PER_FUNCTION_TIMEOUT),
    });
    this.commandsQueue = new Queue(this, "Commands", {
      ...encrypted,
      fifo: true,
      // The sender sets MessageDeduplicationId (the command id); a body hash would merge distinct sends.
      contentBasedDeduplication: false,
      // Command ids are unique per device, not across devices: deduplicate within a group (= device), so
      // "sync-42" sent to two devices within 5 minutes is two messages. Also lifts the per-queue TPS cap.
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(
        props.publisherTimeout.toSeconds() * VISIBILITY_PER_FUNCTION_TIMEOUT,
      ),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.commandsDlq, maxReceiveCount: COMMANDS_MAX_RECEIVES },
    });
  }
}
