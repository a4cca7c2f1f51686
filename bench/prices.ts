/**
 * Every price `npm run cost` uses, in one place: AWS list prices, US East (N. Virginia), first pricing
 * tier, free tiers ignored. Check them against the pages below before quoting a figure.
 */
export const PRICES = {
  lambda: {
    /** Per request (invocation). https://aws.amazon.com/lambda/pricing/ */
    perMillionRequests: 0.2,
    /** Per GB-second, Arm (Graviton), first 7.5 billion GB-s a month. https://aws.amazon.com/lambda/pricing/ */
    perGbSecondArm: 0.0000133334,
    perGbSecondX86: 0.0000166667,
  },
  dynamodb: {
    /** On-demand, per million write request units (1 KB each), since Nov 2024. https://aws.amazon.com/dynamodb/pricing/on-demand/ */
    perMillionWru: 0.625,
    /** On-demand, per million read request units (4 KB strongly consistent). https://aws.amazon.com/dynamodb/pricing/on-demand/ */
    perMillionRru: 0.125,
  },
  sqs: {
    /** Per million requests (each 64 KB chunk), standard queue. https://aws.amazon.com/sqs/pricing/ */
    perMillionStandard: 0.4,
    /** Per million requests, FIFO queue. https://aws.amazon.com/sqs/pricing/ */
    perMillionFifo: 0.5,
  },
  /**
   * SNS FIFO topic (the events topic), https://aws.amazon.com/sns/pricing/ ("FIFO topics"); the FIFO rates
   * as quoted in https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/
   * ($0.30 per million FIFO publishes). Each 64 KB of a request counts as one request.
   */
  snsFifo: {
    /** Publish and PublishBatch requests, per million. */
    perMillionPublishes: 0.3,
    /** Payload published, per GB. */
    perGbPublished: 0.017,
    /** Subscription messages (one per subscribed queue), per million. */
    perMillionDeliveries: 0.01,
    /** Payload delivered, per GB. */
    perGbDelivered: 0.001,
  },
  cloudwatchLogs: {
    /** Ingestion per GB, Standard log class. https://aws.amazon.com/cloudwatch/pricing/ */
    perGbIngested: 0.5,
  },
  /** The comparison: AWS IoT Core instead of EMQX + this bridge. https://aws.amazon.com/iot-core/pricing/ */
  iotCore: {
    /** Messaging, per million messages (up to 5 KB each), first billion a month. */
    perMillionMessages: 1.0,
    /** Rules engine, per million rules triggered. */
    perMillionRules: 0.15,
    /** Rules engine, per million actions executed. */
    perMillionActions: 0.15,
    /** Connectivity, per million connection-minutes (not per message; shown apart). */
    perMillionConnectionMinutes: 0.08,
  },
} as const;

/**
 * Not prices but the assumptions the duration model needs, each named so a reader can change it.
 * Latencies are typical in-region figures for one small request from Lambda (DynamoDB advertises
 * single-digit milliseconds); the bench cannot measure AWS from here.
 */
export const ASSUMPTIONS = {
  /** One request to DynamoDB from Lambda in the same region. */
  dynamodbLatencyMs: 6,
  /** One request to SQS from Lambda in the same region. */
  sqsLatencyMs: 10,
  /** One EMQX bulk publish call over the internet or a peering link. */
  emqxLatencyMs: 20,
  /** Lambda gives one full vCPU at 1,769 MB and CPU in proportion below it (Lambda docs, memory). */
  fullVcpuMb: 1769,
  /** Share of invocations that are cold starts; their init is billed since Aug 2025. */
  coldStartShare: 0.01,
  /**
   * An EMF metrics line per request where the bench did not measure one (the feed); the bench measures
   * the ingest's, the API's and the publisher's (bench/lib/measured-metrics.ts). In text format, Lambda
   * adds START/END/REPORT (~0.35 KB).
   */
  emfLineBytes: 250,
  /**
   * What CloudWatch Logs counts for each log event on top of its message: 26 bytes (the PutLogEvents
   * batch size is "the sum of all event messages in UTF-8, plus 26 bytes for each log event",
   * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html);
   * counted as ingested, to be safe.
   */
  logEventOverheadBytes: 26,
  platformLinesBytes: 350,
  /** An application log line (one per request at DEBUG only). */
  appLineBytes: 300,
  /** A fan-out body (ASCII JSON of a punch or presence change) and its two attributes. */
  eventBytes: 600,
  /**
   * SQS bills its API requests; SNS's deliveries into a subscribed queue are billed by SNS as
   * subscription messages (above), not as SQS requests. The consumers' receives and deletes are billed
   * to whoever consumes: the users' own for the events queue; the feed's are in its row.
   */
  snsDeliveriesBilledAsSqsRequests: false,
  /** Events a feed invocation takes (the event source's batch of 10 when the feed is busy). */
  feedBatch: 10,
  /** Memories the model compares. */
  memoriesMb: [128, 256, 512, 1024, 1769],
  /**
   * The cheapest memory whose modelled duration is at most this factor of one full vCPU's is chosen:
   * below it a punch's answer (and EMQX's in-flight window) waits on CPU more than on the AWS calls.
   */
  maxSlowdown: 2,
} as const;
