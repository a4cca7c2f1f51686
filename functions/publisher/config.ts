import * as v from "valibot";
import { PublisherConfig } from "../adapters/config.ts";

/**
 * The publisher's settings: `PublisherConfig` plus `RECYCLE_AFTER_RECEIVES`, the receive count from which
 * a message an EMQX outage keeps holding back is put on the queue again as a fresh one. It must stay
 * below the commands queue's `maxReceiveCount` (10 in infra/lib/storage.ts); half leaves room for the
 * re-send itself to fail a few times.
 */
export const PublisherSettings = v.object({
  ...PublisherConfig.entries,
  RECYCLE_AFTER_RECEIVES: v.optional(
    v.pipe(v.string(), v.regex(/^[1-9]\d*$/, "must be a whole number of at least 1"), v.transform(Number)),
    "5",
  ),
});
