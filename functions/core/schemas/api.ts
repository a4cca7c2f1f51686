import * as v from "valibot";
import { DAY } from "../time-window.ts";
import { UserIdText } from "./attendance.ts";
import { CommandId, CommandStatus } from "./command.ts";
import { SerialNumber } from "./common.ts";
import { GroupName } from "./jobs.ts";

/**
 * What the operations API accepts in paths, queries and bodies. The routes validate with these schemas and
 * the OpenAPI document is generated from them, so a constraint here (pattern, range, enum) is both
 * enforced and documented. Query values arrive as text; the patterns say exactly which text passes.
 */

export const MAX_LIMIT = 100;
export const DEFAULT_LIMIT = 25;

/** `schema` with the text the OpenAPI document shows for it. */
export const described = <S extends v.GenericSchema>(schema: S, text: string) =>
  v.pipe(schema, v.description(text));

export const SnParams = v.object({ sn: described(SerialNumber, "device serial number") });
export const CommandParams = v.object({ ...SnParams.entries, id: described(CommandId, "command id") });
export const UserParams = v.object({ userId: described(UserIdText, "user_id as devices send it") });

/** `?limit=`: 1 to 100 in at most four digits ("007" is 7), as text; a number once parsed. */
const Limit = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^(?=\d{1,4}$)0*(?:[1-9]\d?|100)$/, `limit must be a whole number from 1 to ${MAX_LIMIT}`),
    v.description(`1-${MAX_LIMIT}, default ${DEFAULT_LIMIT}`),
    v.transform(Number),
  ),
  String(DEFAULT_LIMIT),
);
const Cursor = v.optional(described(v.string(), "from the previous page's `cursor`; opaque"));
const PageQuery = { limit: Limit, cursor: Cursor };

/** A window's bounds are checked (and normalized, `from` ≤ `to`) by `parseWindow`, as 400s naming them. */
const WindowQuery = {
  from: v.optional(
    described(v.string(), "date (YYYY-MM-DD) or ISO 8601 time; compared with the normalized att_time"),
  ),
  to: v.optional(described(v.string(), "date (whole day) or ISO 8601 time, inclusive")),
};

export const DeviceListQuery = v.object({
  online: v.optional(described(v.picklist(["true", "false"], "online must be true or false"), "presence")),
  group: v.optional(
    described(GroupName, "only the devices of this group (PUT /v1/devices/{sn}), by serial number"),
  ),
  ...PageQuery,
});
export const AttendanceQuery = v.object({ ...WindowQuery, ...PageQuery });
export const CommandListQuery = v.object({
  status: v.optional(described(CommandStatus, "only commands in this status, oldest first")),
  ...PageQuery,
});
export const QuarantineQuery = v.object({
  day: v.optional(
    described(v.pipe(v.string(), v.regex(DAY, "day must be YYYY-MM-DD")), "UTC; default today"),
  ),
  ...PageQuery,
});

/** `POST /v1/replay`; `from`/`to` go through `parseWindow` like the attendance queries' (400 naming them). */
export const ReplayRequest = v.strictObject(
  {
    from: v.string("from is required: a date (YYYY-MM-DD) or an ISO 8601 time"),
    to: v.string("to is required: a date (YYYY-MM-DD) or an ISO 8601 time"),
    sn: v.optional(SerialNumber),
    cursor: v.optional(v.string("cursor must be a string")),
    pageSize: v.optional(
      v.pipe(
        v.number("pageSize must be a number"),
        v.integer("pageSize must be a whole number"),
        v.minValue(1, "pageSize must be at least 1"),
        v.maxValue(1000, "pageSize must be at most 1000"),
      ),
    ),
  },
  "unknown field; a replay takes from, to, sn, cursor and pageSize",
);

/** `PATCH /v1/devices/{sn}`. */
export const DevicePatchRequest = v.strictObject(
  { enabled: v.boolean("enabled must be true or false") },
  "unknown field; the body takes only enabled",
);

/** `POST /v1/devices/{sn}/credentials`; the body is optional. */
export const CredentialsRequest = v.strictObject(
  { kick: v.optional(v.boolean("kick must be true or false")) },
  "unknown field; the body takes only kick",
);
