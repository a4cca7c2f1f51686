import * as v from "valibot";
import { ApiConfig } from "../adapters/config.ts";

const Url = v.pipe(v.string("is required"), v.url("must be a URL"));
const Seconds = v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number));

/**
 * The webhook sender's settings. `WEBHOOK_RETRY_DELAYS_S` (comma-separated seconds before attempt 2, 3,
 * ...) sets the retry budget: its length + 1 attempts, then the dead letter.
 */
export const WebhookSenderConfig = v.object({
  TABLE_NAME: ApiConfig.entries.TABLE_NAME,
  AWS_REGION: ApiConfig.entries.AWS_REGION,
  DYNAMODB_ENDPOINT: ApiConfig.entries.DYNAMODB_ENDPOINT,
  SQS_ENDPOINT: ApiConfig.entries.SQS_ENDPOINT,
  /** The standard queue retries wait on (and which this function also consumes). */
  WEBHOOK_DELIVERY_QUEUE_URL: Url,
  WEBHOOK_TIMEOUT_MS: v.optional(Seconds, "5000"),
  WEBHOOK_RETRY_DELAYS_S: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+(,\d+)*$/, "must be comma-separated whole seconds"),
      v.transform((value) => value.split(",").map(Number)),
    ),
  ),
});
export type WebhookSenderConfig = v.InferOutput<typeof WebhookSenderConfig>;
