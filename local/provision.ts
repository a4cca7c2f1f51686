import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SNSClient } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { ensureTable } from "../functions/adapters/dynamodb/table.ts";
import { createSnsClient } from "../functions/adapters/sns/client.ts";
import { eventsTopic } from "./services/sqs-local.ts";

export interface ResourceNames {
  tableName: string;
  /** Without the `.fifo` suffix, which is added. */
  eventsQueue: string;
  /** Without the `.fifo` suffix, which is added. */
  commandsQueue: string;
  /** The feed publisher's queue; default: the events queue's name with `events` → `feed`. */
  feedQueue?: string;
  /** The webhook sender's queue; default: the events queue's name with `events` → `webhooks`. */
  webhooksQueue?: string;
}

export interface ProvisionedResources {
  tableName: string;
  eventsQueueUrl: string;
  eventsDlqUrl: string;
  commandsQueueUrl: string;
  commandsDlqUrl: string;
  /** The SNS FIFO topic (same name as the events queue) the three queues below subscribe to, raw. */
  eventsTopicArn: string;
  /** The commands queue's subscription to the `queued` announcements (COMMANDS_SUBSCRIPTION_ARN). */
  commandsSubscriptionArn: string;
  feedQueueUrl: string;
  feedDlqUrl: string;
  webhooksQueueUrl: string;
  webhooksDlqUrl: string;
}

/** Receives before a command message goes to the DLQ: EMQX down for that many visibility timeouts. */
const COMMAND_MAX_RECEIVES = 10;
/** As in AWS (infra/lib/storage.ts): the feed waits out an EMQX outage on its queue, not in its DLQ. */
const FEED_MAX_RECEIVES = 100;
const WEBHOOKS_MAX_RECEIVES = 10;
/** As the events queue: one group per device, deduplicated by eventId within a group. */
const EVENTS_FIFO = {
  FifoQueue: "true",
  DeduplicationScope: "messageGroup",
  FifoThroughputLimit: "perMessageGroupId",
};

/** Creates the table and queues the stack needs (idempotent), as the CDK stack does in AWS. */
export async function provision(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient; sns?: SNSClient },
  names: ResourceNames,
): Promise<ProvisionedResources> {
  await ensureTable(clients.dynamodb, names.tableName);
  // As in AWS (infra): FIFO, one group per device, deduplicated by eventId within a group.
  const events = await queueWithDlq(clients.sqs, names.eventsQueue, EVENTS_FIFO, 5, ".fifo");
  const feedName = names.feedQueue ?? renamed(names.eventsQueue, "feed");
  const feed = await queueWithDlq(clients.sqs, feedName, EVENTS_FIFO, FEED_MAX_RECEIVES, ".fifo");
  const webhooksName = names.webhooksQueue ?? renamed(names.eventsQueue, "webhooks");
  const webhooks = await queueWithDlq(clients.sqs, webhooksName, EVENTS_FIFO, WEBHOOKS_MAX_RECEIVES, ".fifo");
  const commands = await queueWithDlq(
    clients.sqs,
    names.commandsQueue,
    // As in AWS (infra): deduplication and throughput per device, not queue-wide.
    {
      FifoQueue: "true",
      VisibilityTimeout: "30",
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
    },
    COMMAND_MAX_RECEIVES,
    ".fifo",
  );
  const queueArns = await Promise.all(
    [events.url, feed.url, webhooks.url].map((url) => queueArn(clients.sqs, url)),
  );
  const commandsQueueArn = await queueArn(clients.sqs, commands.url);
  const topic = await withSns(clients, (sns) =>
    eventsTopic(sns, `${names.eventsQueue}.fifo`, queueArns, commandsQueueArn),
  );
  return {
    tableName: names.tableName,
    eventsQueueUrl: events.url,
    eventsDlqUrl: events.dlqUrl,
    commandsQueueUrl: commands.url,
    commandsDlqUrl: commands.dlqUrl,
    eventsTopicArn: topic.topicArn,
    commandsSubscriptionArn: topic.commandsSubscriptionArn ?? "",
    feedQueueUrl: feed.url,
    feedDlqUrl: feed.dlqUrl,
    webhooksQueueUrl: webhooks.url,
    webhooksDlqUrl: webhooks.dlqUrl,
  };
}

/** `bridge-events` → `bridge-feed`; a name without `events` gets `-feed` appended. */
function renamed(eventsQueue: string, kind: string): string {
  return eventsQueue.includes("events") ? eventsQueue.replace("events", kind) : `${eventsQueue}-${kind}`;
}

/** The given SNS client, or one on the SQS client's endpoint: fauxqs serves both, most callers pass SQS only. */
async function withSns<T>(
  clients: { sqs: SQSClient; sns?: SNSClient },
  use: (sns: SNSClient) => Promise<T>,
): Promise<T> {
  if (clients.sns) return use(clients.sns);
  const endpoint = await clients.sqs.config.endpoint?.();
  const port = endpoint?.port ? `:${endpoint.port}` : "";
  const sns = createSnsClient({
    region: await clients.sqs.config.region(),
    ...(endpoint ? { endpoint: `${endpoint.protocol}//${endpoint.hostname}${port}${endpoint.path}` } : {}),
    requestTimeoutMs: 10_000,
  });
  try {
    return await use(sns);
  } finally {
    sns.destroy();
  }
}

async function queueWithDlq(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
  maxReceiveCount: number,
  suffix = "",
) {
  const dlqUrl = await createQueue(
    sqs,
    `${name}-dlq${suffix}`,
    attributes.FifoQueue ? { FifoQueue: "true" } : {},
  );
  const url = await createQueue(sqs, `${name}${suffix}`, {
    ...attributes,
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(sqs, dlqUrl), maxReceiveCount }),
  });
  return { url, dlqUrl };
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string> = {}) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`SQS did not return a URL for queue ${name}`);
  return QueueUrl;
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  if (!Attributes?.QueueArn) throw new Error(`SQS did not return the ARN of ${queueUrl}`);
  return Attributes.QueueArn;
}
