import * as v from "valibot";
import { normalizeAttTime } from "../att-time.ts";
import { hasStorableNumbers, STORABLE_NUMBERS_MESSAGE } from "./common.ts";

/** `user_id` as a string; a number from a terminal is kept as its decimal string. */
export const UserId = v.pipe(
  v.union(
    [v.string(), v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.transform(String))],
    "user_id must be a string or a non-negative integer",
  ),
  v.minLength(1, "user_id must not be empty"),
  v.maxLength(64, "user_id must be at most 64 characters"),
  v.check(
    (id) => !/[#\s]/.test(id) && ![...id].some((ch) => ch.charCodeAt(0) < 0x20),
    "user_id must not contain '#', spaces or control characters",
  ),
);

export const AttTime = v.pipe(
  v.string("att_time must be a string"),
  v.check(
    (value) => normalizeAttTime(value) !== undefined,
    "att_time must be ISO 8601 (with or without offset) or 'YYYY-MM-DD HH:mm:ss'",
  ),
);

/** 0 check-in, 1 check-out, other values are device-defined; digits in a string are accepted. */
export const AttState = v.pipe(
  v.union(
    [v.number(), v.pipe(v.string(), v.regex(/^\d{1,4}$/), v.transform(Number))],
    "att_state must be an integer",
  ),
  v.integer("att_state must be an integer"),
  v.minValue(0, "att_state must be 0 or more"),
  v.maxValue(9999, "att_state must be at most 9999"),
);

/** One punch as a terminal sends it on `api/mqtt/v1/{sn}/evt`; extra fields are kept. */
export const AttendanceRecord = v.pipe(
  v.looseObject({
    user_id: UserId,
    att_time: AttTime,
    att_state: AttState,
  }),
  v.check((record) => hasStorableNumbers(record), STORABLE_NUMBERS_MESSAGE),
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
