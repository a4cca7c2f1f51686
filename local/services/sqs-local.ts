import { CreateTopicCommand, type SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { buildApp } from "fauxqs";
import { QUEUED_ANNOUNCEMENTS } from "../../functions/adapters/sns/queued-filter.ts";

export interface SqsLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * fauxqs, an SQS stand-in. Built with `buildApp` rather than `startFauxqs`, which always binds 0.0.0.0:
 * the local stack listens on loopback only.
 */
export async function startSqsLocal(port = 0, bindHost = "127.0.0.1"): Promise<SqsLocal> {
  const app = buildApp({ logger: false, host: "localhost" });
  await app.listen({ port, host: bindHost });
  const address = app.server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return { endpoint: `http://${bindHost}:${actualPort}`, stop: () => app.close() };
}

/**
 * The SNS FIFO topic the events go to, and a raw-delivery subscription of each queue (idempotent), as
 * infra/lib/storage.ts makes in AWS. fauxqs (README "SNS Features", dist/sns/actions/publish.js) hands
 * each queue the raw body and message attributes and passes `MessageGroupId` and
 * `MessageDeduplicationId` through; it deduplicates per queue, where AWS also drops a repeat at the topic.
 */
export async function eventsTopic(
  sns: SNSClient,
  name: string,
  queueArns: string[],
  commandsQueueArn?: string,
): Promise<{ topicArn: string; commandsSubscriptionArn?: string }> {
  const { TopicArn } = await sns.send(
    new CreateTopicCommand({
      Name: name,
      Attributes: { FifoTopic: "true", ContentBasedDeduplication: "false" },
    }),
  );
  if (!TopicArn) throw new Error(`SNS did not return the ARN of topic ${name}`);
  for (const queueArn of queueArns) {
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: "sqs",
        Endpoint: queueArn,
        Attributes: { RawMessageDelivery: "true" },
      }),
    );
  }
  if (!commandsQueueArn) return { topicArn: TopicArn };
  return {
    topicArn: TopicArn,
    commandsSubscriptionArn: await subscribeCommandsQueue(sns, TopicArn, commandsQueueArn),
  };
}

/**
 * The commands queue takes the `queued` announcements only (a filter on the body, as in infra), so the
 * one send that announces a new command also enqueues it.
 */
async function subscribeCommandsQueue(sns: SNSClient, topicArn: string, queueArn: string): Promise<string> {
  const { SubscriptionArn } = await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: "sqs",
      Endpoint: queueArn,
      Attributes: {
        RawMessageDelivery: "true",
        FilterPolicyScope: "MessageBody",
        FilterPolicy: JSON.stringify(QUEUED_ANNOUNCEMENTS),
      },
    }),
  );
  if (!SubscriptionArn) throw new Error(`SNS did not return the ARN of the commands queue's subscription`);
  return SubscriptionArn;
}
