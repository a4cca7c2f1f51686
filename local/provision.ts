import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { ensureTable } from "../functions/adapters/dynamodb/table.ts";

export interface ResourceNames {
  tableName: string;
  eventsQueue: string;
}

export interface ProvisionedResources {
  tableName: string;
  eventsQueueUrl: string;
  eventsDlqUrl: string;
}

/** Creates the table and queues the stack needs (idempotent), as the CDK stack does in AWS. */
export async function provision(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  names: ResourceNames,
): Promise<ProvisionedResources> {
  await ensureTable(clients.dynamodb, names.tableName);
  const eventsDlqUrl = await createQueue(clients.sqs, `${names.eventsQueue}-dlq`);
  const eventsQueueUrl = await createQueue(clients.sqs, names.eventsQueue, {
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: await queueArn(clients.sqs, eventsDlqUrl),
      maxReceiveCount: 5,
    }),
  });
  return { tableName: names.tableName, eventsQueueUrl, eventsDlqUrl };
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
