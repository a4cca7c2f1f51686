import { Duration, type RemovalPolicy, Validations } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Alias } from "aws-cdk-lib/aws-kms";
import {
  FifoThroughputScope,
  FilterOrPolicy,
  type Subscription,
  SubscriptionFilter,
  Topic,
} from "aws-cdk-lib/aws-sns";
import { SqsSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import {
  DeduplicationScope,
  FifoThroughputLimit,
  Queue,
  QueueEncryption,
  type QueueProps,
} from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { JOBS_INDEX, JOBS_INDEX_KEYS } from "../../functions/adapters/dynamodb/job-store.ts";
import { GSI1, TTL_ATTRIBUTE } from "../../functions/adapters/dynamodb/keys.ts";
import { QUEUED_ANNOUNCEMENTS } from "../../functions/adapters/sns/queued-filter.ts";

/** Receives of an events message before its DLQ (the same as the local stack, `local/provision.ts`). */
export const EVENTS_MAX_RECEIVES = 5;
/**
 * Receives of a command message before its DLQ. An EMQX outage does not spend them: the publisher puts
 * a message held back `COMMANDS_RECYCLE_AFTER_RECEIVES` times on the queue again as a fresh one.
 */
export const COMMANDS_MAX_RECEIVES = 10;
/**
 * Receives of a feed message before its DLQ: the feed waits out an EMQX outage on its own queue (each
 * receive is one visibility timeout, 3 min, so about 5 hours), and a message is never lost after
 * that: it stays 14 days in the feed DLQ.
 */
export const FEED_MAX_RECEIVES = 100;
/** Receives of a webhooks message before its DLQ (the sender keeps its own per-delivery retries). */
export const WEBHOOKS_MAX_RECEIVES = 10;
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

/** A queue that receives the events topic's copies: FIFO per device, as the events queue. */
const eventsCopy: QueueProps = {
  ...encrypted,
  fifo: true,
  contentBasedDeduplication: false,
  deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
  fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
  retentionPeriod: Duration.days(4),
};

export interface BridgeStorageProps {
  tableRemovalPolicy: RemovalPolicy;
  /** The publisher's timeout; the commands queue's visibility timeout is six times it. */
  publisherTimeout: Duration;
  /** The feed publisher's and webhook sender's timeout; their queues' visibility timeout is six times it. */
  consumerTimeout?: Duration;
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
  /** The commands queue's subscription to the `queued` announcements, and where SNS puts what it could not deliver. */
  readonly commandsSubscription: Subscription;
  readonly commandsSubscriptionDlq: Queue;
  readonly commandsDlq: Queue;
  /**
   * Where every producer publishes the events (SNS FIFO, group = sn, dedupe = eventId); the events,
   * feed and webhooks queues subscribe to it with raw delivery, so each gets the body the events queue
   * got before. One publish, three deliveries: a consumer that stops never holds back another.
   */
  readonly eventsTopic: Topic;
  /** The feed publisher's copy of the events (to EMQX, `fleet/v1/{sn}/{type}`). */
  readonly feedQueue: Queue;
  readonly feedDlq: Queue;
  /** The webhook sender's copy of the events. */
  readonly webhooksQueue: Queue;
  readonly webhooksDlq: Queue;

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
    // Job executions: sparse (only commands with a jobId); functions/adapters/dynamodb/table.ts.
    this.table.addGlobalSecondaryIndex({
      indexName: JOBS_INDEX,
      partitionKey: { name: JOBS_INDEX_KEYS.partition, type: AttributeType.STRING },
      sortKey: { name: JOBS_INDEX_KEYS.sort, type: AttributeType.STRING },
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

    const consumerVisibility = Duration.seconds(
      (props.consumerTimeout ?? Duration.seconds(30)).toSeconds() * VISIBILITY_PER_FUNCTION_TIMEOUT,
    );
    const subscribed = (id: string, maxReceiveCount: number) => {
      const dlq = new Queue(this, `${id}Dlq`, {
        ...encrypted,
        fifo: true,
        retentionPeriod: Duration.days(14),
      });
      const queue = new Queue(this, id, {
        ...eventsCopy,
        visibilityTimeout: consumerVisibility,
        deadLetterQueue: { queue: dlq, maxReceiveCount },
      });
      return { queue, dlq };
    };
    ({ queue: this.feedQueue, dlq: this.feedDlq } = subscribed("Feed", FEED_MAX_RECEIVES));
    ({ queue: this.webhooksQueue, dlq: this.webhooksDlq } = subscribed("Webhooks", WEBHOOKS_MAX_RECEIVES));
    this.eventsTopic = new Topic(this, "EventsTopic", {
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO, as the queues: deduplication and the throughput limit per device.
      fifoThroughputScope: FifoThroughputScope.MESSAGE_GROUP,
      enforceSSL: true,
      // The account's AWS managed key (aws/sns): its key policy lets SNS users of the account publish.
      masterKey: Alias.fromAliasName(this, "SnsManagedKey", "alias/aws/sns"),
    });
    for (const queue of [this.eventsQueue, this.feedQueue, this.webhooksQueue]) {
      this.eventsTopic.addSubscription(new SqsSubscription(queue, { rawMessageDelivery: true }));
    }

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
    // A new command's `queued` announcement is its pointer too: the one send that announces it enqueues it.
    // SNS does not retry a delivery the queue refuses for good: it lands here (with an alarm), for redrive
    // into the commands queue, whose publisher reads the announcement as it reads a pointer.
    this.commandsSubscriptionDlq = new Queue(this, "CommandsSubscriptionDlq", {
      ...encrypted,
      fifo: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.commandsSubscriptionDlq).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "It is a dead-letter queue: the SNS subscription's (RedrivePolicy on AWS::SNS::Subscription), " +
        "which the rule does not look at; it has an alarm and is redriven by hand (docs/deploy.md).",
    });
    this.commandsSubscription = this.eventsTopic.addSubscription(
      new SqsSubscription(this.commandsQueue, {
        rawMessageDelivery: true,
        deadLetterQueue: this.commandsSubscriptionDlq,
        filterPolicyWithMessageBody: {
          type: FilterOrPolicy.filter(
            SubscriptionFilter.stringFilter({ allowlist: [...QUEUED_ANNOUNCEMENTS.type] }),
          ),
          data: FilterOrPolicy.policy({
            status: FilterOrPolicy.filter(
              SubscriptionFilter.stringFilter({ allowlist: [...QUEUED_ANNOUNCEMENTS.data.status] }),
            ),
          }),
        },
      }),
    );
  }
}
