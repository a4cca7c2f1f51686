import * as v from "valibot";
import { SeqEpoch } from "./attendance.ts";

/**
 * The device's clock when it sent the message: ISO 8601 with an offset (or `Z`), or epoch milliseconds.
 * Compared with EMQX's receive time to estimate the device's clock offset.
 */
export const DeviceTime = v.union(
  [
    v.pipe(
      v.string(),
      v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/i),
      v.check((value) => Number.isFinite(Date.parse(value))),
      v.transform((value) => Date.parse(value)),
    ),
    v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  ],
  "device_time must be ISO 8601 with an offset, or epoch milliseconds",
);

/**
 * Presence as a device states it on `api/mqtt/v1/{sn}/st` (also its last will). A heartbeat may also
 * carry the device's last punch number (`last_seq`, with its `seq_epoch`), which exposes punches lost
 * at the tail, the last number of the epoch before a counter reset (`prev_epoch`, `prev_last_seq`),
 * which exposes those lost just before the reset, and its clock (`device_time`).
 */
export const StatusPayload = v.looseObject({
  online: v.boolean("online must be true or false"),
  last_seq: v.optional(v.pipe(v.number("last_seq must be a number"), v.safeInteger(), v.minValue(0))),
  seq_epoch: v.optional(SeqEpoch),
  prev_epoch: v.optional(SeqEpoch),
  prev_last_seq: v.optional(
    v.pipe(v.number("prev_last_seq must be a number"), v.safeInteger(), v.minValue(0)),
  ),
  device_time: v.optional(DeviceTime),
});
export type StatusPayload = v.InferOutput<typeof StatusPayload>;
