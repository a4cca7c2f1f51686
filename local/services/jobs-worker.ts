import type { Logger } from "@aws-lambda-powertools/logger";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { awsClients, createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import type { BaseConfig } from "../../functions/adapters/config.ts";
import { createJobPorts } from "../../functions/adapters/job-deps.ts";
import { handleJobBatch } from "../../functions/jobs/batch.ts";
import { startQueuePoller } from "./queue-poller.ts";

/** Receives of a jobs message before its DLQ, as in AWS (infra/lib/storage.ts). */
export const JOBS_MAX_RECEIVES = 10;

/** The jobs queue (standard, so messages carry their own delays) and its DLQ; idempotent. */
export async function ensureJobsQueue(
  sqs: SQSClient,
  name: string,
): Promise<{ url: string; dlqUrl: string }> {
  const dlqUrl = await createQueue(sqs, `${name}-dlq`, {});
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const url = await createQueue(sqs, name, {
    VisibilityTimeout: "60",
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: Attributes?.QueueArn,
      maxReceiveCount: JOBS_MAX_RECEIVES,
    }),
  });
  return { url, dlqUrl };
}

async function createQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`SQS did not return a URL for queue ${name}`);
  return QueueUrl;
}

/**
 * The jobs worker Lambda's handler fed by a long-poll loop on the jobs queue, as its event source mapping
 * would. Two loops: a slice and a check of the same job run side by side, as on Lambda.
 */
export function startJobsWorker(
  config: BaseConfig & { JOBS_QUEUE_URL: string },
  checkSeconds: number,
  logger: Logger,
) {
  const clients = awsClients(config);
  const deps = { ...createAwsDeps(config, clients), ...createJobPorts(config, clients), checkSeconds };
  const jobsLogger = logger.createChild({ serviceName: "bridge-jobs" });
  const pollers = [1, 2].map(() =>
    startQueuePoller({
      sqs: clients.sqs,
      queueUrl: config.JOBS_QUEUE_URL,
      handler: (event) => handleJobBatch(deps, event, jobsLogger),
      maxBackoffSeconds: 5,
      onError: (error) => jobsLogger.error("jobs poller failed", { error }),
    }),
  );
  return {
    stop: async () => {
      await Promise.all(pollers.map((p) => p.stop()));
      clients.dynamodb.destroy();
      clients.sqs.destroy();
    },
  };
}
