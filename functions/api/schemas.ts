import * as v from "valibot";
import { CommandStatus } from "../core/schemas/command.ts";

/** Response shapes, for the OpenAPI document (requests reuse the core schemas). */
export const ProblemSchema = v.object({
  type: v.string(),
  title: v.string(),
  status: v.number(),
  detail: v.string(),
  field: v.optional(v.string()),
});

export const CommandView = v.object({
  id: v.string(),
  sn: v.string(),
  op: v.string(),
  data: v.record(v.string(), v.unknown()),
  status: CommandStatus,
  createdAt: v.string(),
  updatedAt: v.string(),
  expiresAt: v.optional(v.string()),
  ttlSeconds: v.optional(v.number()),
  messageId: v.optional(v.string()),
  reason: v.optional(v.string()),
  result: v.optional(v.unknown()),
});

export const CommandAnswer = v.object({ command: CommandView });
const pageOf = <T extends v.GenericSchema>(item: T) =>
  v.object({ items: v.array(item), cursor: v.optional(v.string()) });
export const CommandPage = pageOf(CommandView);

export const DeviceView = v.object({
  sn: v.string(),
  online: v.optional(v.boolean()),
  since: v.optional(v.string()),
  lastSeenAt: v.optional(v.string()),
  reason: v.optional(v.string()),
  connectedAt: v.optional(v.string()),
});
export const DeviceDetail = v.object({
  device: v.object({ ...DeviceView.entries, pendingCommands: v.number() }),
});
export const DevicePage = pageOf(DeviceView);

export const AttendanceView = v.object({
  eventId: v.string(),
  sn: v.string(),
  user_id: v.string(),
  att_time: v.string(),
  att_time_normalized: v.string(),
  att_state: v.number(),
  received_at: v.string(),
  transport: v.picklist(["mqtt", "http"]),
  extra: v.record(v.string(), v.unknown()),
});
export const AttendancePage = pageOf(AttendanceView);

export const QuarantineView = v.object({
  id: v.string(),
  day: v.string(),
  receivedAt: v.string(),
  transport: v.string(),
  status: v.number(),
  reason: v.string(),
  field: v.string(),
  message: v.string(),
  raw: v.string(),
  rawBytes: v.number(),
  truncated: v.boolean(),
  sn: v.optional(v.string()),
  emqxId: v.optional(v.string()),
  ruleId: v.optional(v.string()),
});
export const QuarantinePage = pageOf(QuarantineView);

export const ReplayRequestSchema = v.strictObject({
  from: v.string("from is required: a date (YYYY-MM-DD) or an ISO 8601 time"),
  to: v.string("to is required: a date (YYYY-MM-DD) or an ISO 8601 time"),
  sn: v.optional(v.string()),
  cursor: v.optional(v.string()),
  pageSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000))),
});
export const ReplayAnswer = v.object({
  replayed: v.number(),
  through: v.optional(v.string()),
  cursor: v.optional(v.string()),
  done: v.boolean(),
});
