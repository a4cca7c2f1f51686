import { TransientError } from "../core/errors.ts";
import type { DeviceProfiles } from "../core/jobs/groups.ts";
import type { JobQueue, JobStore, TargetDirectory } from "../core/jobs/ports.ts";
import type { AwsClients } from "./aws-deps.ts";
import type { BaseConfig } from "./config.ts";
import { DynamoDbDeviceGroups } from "./dynamodb/device-groups.ts";
import { DynamoDbJobStore } from "./dynamodb/job-store.ts";
import { DynamoDbReaders } from "./dynamodb/readers.ts";
import { SqsJobQueue } from "./sqs/job-queue.ts";

/** The ports of jobs and device groups (the API's and the jobs worker's). */
export interface JobPorts {
  jobs: JobStore;
  jobQueue: JobQueue;
  profiles: DeviceProfiles;
  targets: TargetDirectory;
}

/** Without `JOBS_QUEUE_URL` a job cannot start: creating one answers 503 naming the setting. */
const unconfiguredQueue: JobQueue = {
  send: async () => {
    throw new TransientError("jobs are not configured: JOBS_QUEUE_URL is not set");
  },
};

export function createJobPorts(
  config: BaseConfig & { JOBS_QUEUE_URL?: string | undefined },
  clients: AwsClients,
): JobPorts {
  const groups = new DynamoDbDeviceGroups(clients.dynamodb, config.TABLE_NAME);
  return {
    jobs: new DynamoDbJobStore(clients.dynamodb, config.TABLE_NAME),
    jobQueue: config.JOBS_QUEUE_URL ? new SqsJobQueue(clients.sqs, config.JOBS_QUEUE_URL) : unconfiguredQueue,
    profiles: groups,
    targets: groups.targets(new DynamoDbReaders(clients.dynamodb, config.TABLE_NAME)),
  };
}
