import * as v from "valibot";
import { asciiJsonBytes } from "../ascii-json.ts";
import { normalizeAttTime } from "../att-time.ts";
import { isWellFormedText, storable } from "./storable.ts";

/**
 * The largest record, as fan-out JSON, that still fits one SQS message (256 KiB with its attributes,
 * the limit of every SQS queue) beside the envelope the bridge adds; larger ones are refused up front.
 */
export const MAX_RECORD_FANOUT_BYTES = 256 * 1024 - 1024;

/** What the stored item holds besides the record: keys, ids, times; the record itself is its `extra` map. */
const ITEM_BYTES_BESIDES_RECORD = 1024;

/**
 * `user_id` as text, as the API's `/v1/users/{userId}` names it and as a number becomes. The pattern (no
 * '#', whitespace or control character) is a regex rather than a check so the OpenAPI document shows it.
 */
export const UserIdText = v.pipe(
  v.string("user_id must be a string"),
  v.minLength(1, "user_id must not be empty"),
  v.maxLength(64, "user_id must be at most 64 characters"),
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
  v.regex(/^[^#\s\u0000-\u001F]*$/, "user_id must not contain '#', spaces or control characters"),
  // "u\uD800" and "u\uD801" would both become "u\uFFFD" in UTF-8, one key for two users.
  v.check(isWellFormedText, "user_id must be valid UTF-16 text (no lone surrogate)"),
);

/** `user_id` as a string; a number from a terminal is kept as its decimal string. */
export const UserId = v.pipe(
  v.union(
    [v.string(), v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.transform(String))],
    "user_id must be a string or a non-negative integer",
  ),
  UserIdText,
);

export const AttTime = v.pipe(
  v.string("att_time must be a string"),
  v.check(
    (value) => normalizeAttTime(value) !== undefined,
    "att_time must be ISO 8601 (with or without offset) or 'YYYY-MM-DD HH:mm:ss'",
  ),
);

/** A number, or up to `digits` decimal digits in a string (firmware sends either), as a number. */
function numberOrDigits(digits: number, message: string) {
  const text = v.pipe(v.string(), v.regex(new RegExp(`^\\d{1,${digits}}$`)), v.transform(Number));
  return v.union([v.number(), text], message);
}

/** 0 check-in, 1 check-out, other values are device-defined; digits in a string are accepted. */
export const AttState = v.pipe(
  numberOrDigits(4, "att_state must be an integer"),
  v.integer("att_state must be an integer"),
  v.minValue(0, "att_state must be 0 or more"),
  v.maxValue(9999, "att_state must be at most 9999"),
);

/** A per-device punch counter (README "Firmware: numbering punches"): 1, 2, 3, ... within one `seq_epoch`. */
export const Seq = v.pipe(
  numberOrDigits(15, "seq must be a whole number"),
  v.safeInteger("seq must be a whole number"),
  v.minValue(1, "seq must be 1 or more"),
);

/**
 * Which run of the counter a `seq` belongs to: a device that starts counting again (a factory reset, a new
 * flash) sends a new epoch (a boot id, a reset count), so its new 1, 2, 3 are not taken for old numbers.
 */
export const SeqEpoch = v.pipe(
  v.union(
    [v.string(), v.pipe(v.number(), v.safeInteger(), v.transform(String))],
    "seq_epoch must be a string or an integer",
  ),
  v.regex(/^[A-Za-z0-9_.:-]{1,64}$/, "seq_epoch must be 1-64 characters of A-Z, a-z, 0-9, _, ., : or -"),
);

/**
 * One punch as a terminal sends it on `api/mqtt/v1/{sn}/evt`; extra fields are kept. `seq` and
 * `seq_epoch` are optional (devices without them work as before; no gap tracking for them). Whatever DynamoDB
 * or SQS would refuse is refused here, naming the field, so that a record that passes is both stored
 * and fanned out. The record's fields sit in the item's `extra` map, one level below the top.
 */
export const AttendanceRecord = v.pipe(
  v.looseObject({
    user_id: UserId,
    att_time: AttTime,
    att_state: AttState,
    seq: v.optional(Seq),
    seq_epoch: v.optional(SeqEpoch),
  }),
  storable({ levelsAbove: 1, itemBytesAbove: ITEM_BYTES_BESIDES_RECORD }),
  v.check(
    (record) => asciiJsonBytes(record) <= MAX_RECORD_FANOUT_BYTES,
    `is too large to fan out: at most ${MAX_RECORD_FANOUT_BYTES} bytes as JSON with non-ASCII characters escaped`,
  ),
);
export type AttendanceRecord = v.InferOutput<typeof AttendanceRecord>;

export const MAX_RECORDS_PER_MESSAGE = 500;

/** A single punch or an offline backlog; each element is validated on its own so one bad punch spoils none. */
export const AttendancePayload = v.union(
  [
    // Arrays first: an array would also pass as a loose object.
    v.pipe(
      v.array(v.unknown()),
      v.minLength(1, "payload must hold at least one attendance record"),
      v.maxLength(MAX_RECORDS_PER_MESSAGE, `payload must hold at most ${MAX_RECORDS_PER_MESSAGE} records`),
    ),
    v.looseObject({}),
  ],
  "payload must be an attendance record or an array of them",
);
