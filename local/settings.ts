import * as v from "valibot";

const Port = (fallback: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,5}$/, "must be a port number"),
      v.transform(Number),
      v.maxValue(65_535, "must be a port number"),
    ),
    String(fallback),
  );

/** `npm start`'s settings: every port from the environment, with the defaults the README lists. */
export const LocalSettings = v.object({
  BRIDGE_HOST: v.optional(v.string(), "127.0.0.1"),
  DYNAMODB_PORT: Port(8000),
  SQS_PORT: Port(4566),
  MQTT_PORT: Port(1883),
  MQTT_WS_PORT: Port(8083),
  INGEST_PORT: Port(3000),
  API_PORT: Port(3001),
  EMQX_API_PORT: Port(18083),
  /** Comma-separated; random per start when unset. */
  INGEST_TOKENS: v.optional(v.string()),
  /** Comma-separated secrets HTTP devices' tokens are derived from (≥ 32 characters); random per start when unset. */
  DEVICE_TOKEN_SECRETS: v.optional(v.string()),
  /** Comma-separated command API keys; random per start when unset. */
  API_KEYS: v.optional(v.string()),
  EMQX_API_KEY: v.optional(v.string()),
  EMQX_API_SECRET: v.optional(v.string()),
  /** How long DynamoDB Local (a JVM) may take to answer; a busy machine needs more than a quiet one. */
  DYNAMODB_LOCAL_TIMEOUT_S: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,4}$/, "must be a number of seconds"),
      v.transform(Number),
      v.minValue(1, "must be at least 1"),
    ),
    "120",
  ),
  LOG_LEVEL: v.optional(v.picklist(["DEBUG", "INFO", "WARN", "ERROR", "SILENT"]), "INFO"),
});
export type LocalSettings = v.InferOutput<typeof LocalSettings>;

/** Where the simulator and the README's examples find a running `npm start`. */
export const DEFAULT_LOCAL = {
  mqttUrl: "mqtt://127.0.0.1:1883",
  dynamodbEndpoint: "http://127.0.0.1:8000",
  sqsEndpoint: "http://127.0.0.1:4566",
  tableName: "bridge",
  eventsQueue: "bridge-events",
} as const;
