import * as v from "valibot";
import { described } from "../core/schemas/api.ts";
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

/** A device's presence (docs/presence.md); all but `sn` absent until a signal of it was seen. */
export const DeviceView = v.object({
  sn: described(v.string(), "the device's serial number"),
  online: v.optional(described(v.boolean(), "whether it is connected, by the newest trustworthy signal")),
  since: v.optional(described(v.string(), "when that signal happened, ISO 8601 UTC")),
  lastSeenAt: v.optional(described(v.string(), "the newest signal of any kind, ISO 8601 UTC")),
  reason: v.optional(
    described(v.string(), "`connected`, `status`, `will`, or the broker's disconnect reason"),
  ),
  connectedAt: v.optional(described(v.string(), "when its current (or last) session began")),
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

/** A rejected message as kept for operators (functions/core/quarantine.ts). */
export const QuarantineView = v.object({
  id: described(v.string(), "the entry's id (a UUID), for `POST /v1/quarantine/replay`"),
  day: described(v.string(), "UTC day `YYYY-MM-DD` it was received, the partition `?day=` lists"),
  receivedAt: described(v.string(), "when the bridge received it, ISO 8601 UTC"),
  transport: described(v.string(), "how it came: `mqtt` (an EMQX rule event) or `http` (an HTTP device)"),
  status: described(v.number(), "the HTTP status the sender was answered (4xx)"),
  reason: described(v.string(), "the error kind, as in the answer's problem `type` (README, Errors)"),
  field: described(v.string(), "the input field at fault, as a path (`payload.att_time`), or empty"),
  message: described(v.string(), "what is wrong with it, as the sender was told"),
  raw: described(v.string(), "the body as received (its first bytes when `truncated`)"),
  rawBytes: described(v.number(), "the size of the whole body in bytes"),
  truncated: described(v.boolean(), "whether `raw` holds only the first bytes of a larger body"),
  sn: v.optional(described(v.string(), "the device's serial number, when it could be read")),
  emqxId: v.optional(described(v.string(), "EMQX's message id, when it came through a rule")),
  ruleId: v.optional(described(v.string(), "the EMQX rule that sent it")),
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
