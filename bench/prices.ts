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
  /** An EMF metrics line per request (~0.4 KB) and, in text format, START/END/REPORT (~0.35 KB). */
  emfLineBytes: 400,
  platformLinesBytes: 350,
  /** An application log line (one per request at DEBUG only). */
  appLineBytes: 300,
  /** Memories the model compares. */
  memoriesMb: [128, 256, 512, 1024, 1769],
  /**
   * The cheapest memory whose modelled duration is at most this factor of one full vCPU's is chosen:
   * below it a punch's answer (and EMQX's in-flight window) waits on CPU more than on the AWS calls.
   */
  maxSlowdown: 2,
} as const;
