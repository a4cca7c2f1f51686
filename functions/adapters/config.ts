import * as v from "valibot";

const Integer = (fallback: number) =>
  v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number)),
    String(fallback),
  );
const TokenList = v.pipe(
  v.string(),
  v.transform((value) =>
    value
      .split(",")
      .map((token) => token.trim())
      .filter(Boolean),
  ),
  v.minLength(1, "must hold at least one token"),
  v.check(
    (tokens) => tokens.every((token) => token.length >= 16),
    "every token must be at least 16 characters",
  ),
);

/** The ingest function's settings, all from environment variables. */
export const IngestConfig = v.object({
  TABLE_NAME: v.pipe(v.string("is required"), v.minLength(1)),
  EVENTS_QUEUE_URL: v.pipe(v.string("is required"), v.url("must be a URL")),
  /** Comma-separated bearer tokens; several at once so one can be rotated without downtime. */
  INGEST_TOKENS: v.pipe(v.string("is required"), TokenList),
  AWS_REGION: v.optional(v.string(), "us-east-1"),
  DYNAMODB_ENDPOINT: v.optional(v.pipe(v.string(), v.url())),
  SQS_ENDPOINT: v.optional(v.pipe(v.string(), v.url())),
  /** Answer 503 after this long, well before the function's own timeout. */
  INGEST_DEADLINE_MS: Integer(8_000),
  MAX_BODY_BYTES: Integer(256 * 1024),
  QUARANTINE_RETENTION_DAYS: Integer(30),
});
export type IngestConfig = v.InferOutput<typeof IngestConfig>;

/** Reads a config schema from `env`, failing with every bad variable named (values are never echoed). */
export function readConfig<S extends v.GenericSchema>(schema: S, env: Record<string, string | undefined>) {
  const result = v.safeParse(schema, env);
  if (result.success) return result.output as v.InferOutput<S>;
  const problems = result.issues.map((issue) => `${v.getDotPath(issue) ?? "?"} ${issue.message}`);
  throw new Error(`invalid configuration: ${problems.join("; ")}`);
}
