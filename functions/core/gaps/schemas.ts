import * as v from "valibot";

/** `GET /v1/gaps?open=true`: only gaps not closed (the default), or `false` for every tracked one. */
export const GapListQuery = v.object({
  open: v.optional(v.picklist(["true", "false"], "open must be true or false"), "true"),
});

const Range = v.tuple([v.number(), v.number()]);

/** A gap as the API and the `gap_*` events show it. */
export const GapView = v.object({
  sn: v.string(),
  seq_epoch: v.string(),
  from_seq: v.number(),
  to_seq: v.number(),
  missing: v.number(),
  missing_ranges: v.array(Range),
  status: v.picklist(["pending", "open", "closed", "unrecoverable"]),
  source: v.picklist(["seq", "tail"]),
  detected_at: v.string(),
  attempts: v.number(),
  opened_at: v.optional(v.string()),
  closed_at: v.optional(v.string()),
  next_attempt_at: v.optional(v.string()),
});

export const GapAnswer = v.object({
  items: v.array(GapView),
  clock: v.optional(v.object({ offset_ms: v.number(), source: v.string(), flagged: v.boolean() })),
});
