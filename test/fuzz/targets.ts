import { createApiDeps, createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import { createDynamoDbClient } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { provision } from "../../local/provision.ts";
import { API_KEY, startApi } from "../support/api-server.ts";
import { DEVICE_SECRET, deviceToken, startIngest, TOKEN } from "../support/ingest-server.ts";
import { uniqueName } from "../support/resources.ts";

export interface Endpoints {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
}

/**
 * The ingest and the API on real sockets, over a fresh table and queues on DynamoDB Local and the SQS
 * stand-in: what the fuzz suite attacks. No fault is injected, so any 5xx is the bridge's own doing.
 */
export async function startFuzzTargets(endpoints: Endpoints) {
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  const aws = { region: "us-east-1", requestTimeoutMs: 10_000 };
  const dynamodb = createDynamoDbClient({ ...aws, endpoint: endpoints.dynamodbEndpoint });
  const sqs = createSqsClient({ ...aws, endpoint: endpoints.sqsEndpoint });
  const resources = await provision(
    { dynamodb, sqs },
    {
      tableName: uniqueName("fuzz"),
      eventsQueue: uniqueName("fuzz-events"),
      commandsQueue: uniqueName("fuzz-commands"),
    },
  );
  const config = {
    TABLE_NAME: resources.tableName,
    EVENTS_QUEUE_URL: resources.eventsQueueUrl,
    COMMANDS_QUEUE_URL: resources.commandsQueueUrl,
    AWS_REGION: "us-east-1",
    DYNAMODB_ENDPOINT: endpoints.dynamodbEndpoint,
    SQS_ENDPOINT: endpoints.sqsEndpoint,
  };
  const ingest = await startIngest(createAwsDeps(config));
  const api = await startApi(createApiDeps({ ...config, API_KEYS: [API_KEY] }));
  return {
    ...resources,
    dynamodb,
    sqs,
    ingestUrl: ingest.url,
    apiUrl: api.url,
    secrets: { emqx: TOKEN, api: API_KEY, device: (sn: string) => deviceToken(sn, DEVICE_SECRET) },
    async stop() {
      await Promise.all([ingest.stop(), api.stop()]);
      dynamodb.destroy();
      sqs.destroy();
    },
  };
}

export type FuzzTargets = Awaited<ReturnType<typeof startFuzzTargets>>;
