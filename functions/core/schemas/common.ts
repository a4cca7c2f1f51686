import * as v from "valibot";

/** A device serial number. It becomes a topic segment and part of keys, so `/`, `+`, `#` can never pass. */
export const SerialNumber = v.pipe(
  v.string("sn must be a string"),
  v.regex(/^[A-Za-z0-9_-]{1,64}$/, "sn must be 1-64 characters of A-Z, a-z, 0-9, _ or -"),
);

/** EMQX renders Erlang `undefined` as the string "undefined"; it means "absent". */
export const EmqxOptionalString = v.optional(
  v.pipe(
    v.string(),
    v.transform((value) => (value === "undefined" ? undefined : value)),
  ),
);
