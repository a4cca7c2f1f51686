import * as v from "valibot";
import { CommandStatus } from "../core/schemas/command.ts";

/** Response shapes, for the OpenAPI document (requests: `core/schemas/api.ts`). */
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
  /** The job this command is an execution of. */
  jobId: v.optional(v.string()),
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
/** A device's entry in the registry: who may log in as it, and with which token generation. */
export const DeviceIdentityView = v.object({
  enabled: v.boolean(),
  generation: v.number(),
  registeredBy: v.picklist(["first_login", "operator"]),
  createdAt: v.string(),
  lastLoginAt: v.optional(v.string()),
  updatedAt: v.optional(v.string()),
});
export const DeviceDetail = v.object({
  device: v.object({
    ...DeviceView.entries,
    pendingCommands: v.number(),
    /** Absent: the device never logged in and no operator registered it. */
    identity: v.optional(DeviceIdentityView),
  }),
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

export const ReplayAnswer = v.object({
  replayed: v.number(),
  through: v.optional(v.string()),
  cursor: v.optional(v.string()),
  done: v.boolean(),
});

/** What EMQX did after the change; `warning` when it could not be reached (the change is stored anyway). */
const BrokerCutOffEntries = {
  kicked: v.boolean(),
  wasConnected: v.optional(v.boolean()),
  cachesCleared: v.boolean(),
  warning: v.optional(v.string()),
};

const IdentityWithSn = v.object({ sn: v.string(), ...DeviceIdentityView.entries });

export const CredentialsAnswer = v.object({
  sn: v.string(),
  generation: v.number(),
  token: v.string(),
  device: IdentityWithSn,
  ...BrokerCutOffEntries,
});

export const DevicePatchAnswer = v.object({
  device: IdentityWithSn,
  kicked: v.optional(BrokerCutOffEntries.kicked),
  wasConnected: BrokerCutOffEntries.wasConnected,
  cachesCleared: v.optional(BrokerCutOffEntries.cachesCleared),
  warning: BrokerCutOffEntries.warning,
});
