import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { ensureTable } from "../functions/adapters/dynamodb/table.ts";

export interface ResourceNames {
  tableName: string;
  /** Without the `.fifo` suffix, which is added. */
  eventsQueue: string;
  /** Without the `.fifo` suffix, which is added. */
  commandsQueue: string;
}

export interface ProvisionedResources {
  tableName: string;
  eventsQueueUrl: string;
  eventsDlqUrl: string;
  commandsQueueUrl: string;
  commandsDlqUrl: string;
}

/** Receives before a command message goes to the DLQ: EMQX down for that many visibility timeouts. */
const COMMAND_MAX_RECEIVES = 10;

/** Creates the table and queues the stack needs (idempotent), as the CDK stack does in AWS. */
export async function provision(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  names: ResourceNames,
): Promise<ProvisionedResources> {
  await ensureTable(clients.dynamodb, names.tableName);
  // As in AWS (infra): FIFO, one group per device, deduplicated by eventId within a group.
  const events = await queueWithDlq(
    clients.sqs,
    names.eventsQueue,
    { FifoQueue: "true", DeduplicationScope: "messageGroup", FifoThroughputLimit: "perMessageGroupId" },
    5,
    ".fifo",
  );
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
  return {
    tableName: names.tableName,
    eventsQueueUrl: events.url,
    eventsDlqUrl: events.dlqUrl,
    commandsQueueUrl: commands.url,
    commandsDlqUrl: commands.dlqUrl,
  };
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
