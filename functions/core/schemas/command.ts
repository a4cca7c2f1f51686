import * as v from "valibot";
import { asciiJsonBytes } from "../ascii-json.ts";
import { MAX_RECORD_FANOUT_BYTES } from "./attendance.ts";
import { isWellFormedText, storable, TOP_LEVEL_ATTRIBUTE } from "./storable.ts";

const MAX_TTL_SECONDS = 7 * 24 * 3600;

/** A command id: given by the client for idempotency, or generated. Also an SQS deduplication id. */
export const CommandId = v.pipe(
  v.string("id must be a string"),
  v.regex(/^[A-Za-z0-9_-]{1,64}$/, "id must be 1-64 characters of A-Z, a-z, 0-9, _ or -"),
);

/** What an application asks for: `POST /v1/devices/{sn}/commands`. */
export const CommandRequest = v.strictObject(
  {
    op: v.pipe(
      v.string("op must be a string"),
      v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "op must be 1-64 characters of A-Z, a-z, 0-9, _, . or -"),
    ),
    data: v.optional(
      v.pipe(
        // valibot's record lets an array through, turned into {"0": ...}: refused before it is.
        v.unknown(),
        v.check((data) => !Array.isArray(data), "data must be an object"),
        v.record(v.string(), v.unknown(), "data must be an object"),
        // What DynamoDB would refuse (1e-200, an empty key, 33 levels) is a 422 naming the field, not a 503.
        storable(TOP_LEVEL_ATTRIBUTE),
      ),
    ),
    id: v.optional(CommandId),
    ttlSeconds: v.optional(
      v.pipe(
        v.number("ttlSeconds must be a number"),
        v.integer("ttlSeconds must be a whole number"),
        v.minValue(1, "ttlSeconds must be at least 1"),
        v.maxValue(MAX_TTL_SECONDS, `ttlSeconds must be at most ${MAX_TTL_SECONDS} (7 days)`),
      ),
    ),
  },
  "is not a known field",
);
export type CommandRequest = v.InferOutput<typeof CommandRequest>;

/** A device's answer on `api/mqtt/v1/{sn}/ack`. */
export const CommandAck = v.looseObject({
  id: CommandId,
  ok: v.boolean("ok must be true or false"),
  // Stored as a top-level attribute of the command's item and announced on the events queue.
  result: v.optional(
    v.pipe(
      v.unknown(),
      storable(TOP_LEVEL_ATTRIBUTE),
      v.check(
        (result) => asciiJsonBytes(result) <= MAX_RECORD_FANOUT_BYTES,
        `is too large to fan out: at most ${MAX_RECORD_FANOUT_BYTES} bytes as JSON with non-ASCII characters escaped`,
      ),
    ),
  ),
  error: v.optional(
    v.pipe(
      v.string("error must be a string"),
      v.check(isWellFormedText, "error must be valid UTF-16 text (no lone surrogate)"),
    ),
  ),
});
export type CommandAck = v.InferOutput<typeof CommandAck>;

export const COMMAND_STATUSES = [
  "queued",
  "pending",
  "sent",
  "delivered",
  "acked",
  "failed",
  "expired",
] as const;
export const CommandStatus = v.picklist(
  COMMAND_STATUSES,
  `status must be one of ${COMMAND_STATUSES.join(", ")}`,
);
export type CommandStatus = v.InferOutput<typeof CommandStatus>;
