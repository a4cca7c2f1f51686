import * as v from "valibot";

/** Presence as a device states it on `api/mqtt/v1/{sn}/st` (also its last will). */
export const StatusPayload = v.looseObject({
  online: v.boolean("online must be true or false"),
});
export type StatusPayload = v.InferOutput<typeof StatusPayload>;
