import type { BrokerCutOff, DeviceIdentity } from "../core/broker-access/index.ts";
import type { Command } from "../core/commands/types.ts";
import { definedFields } from "../core/defined-fields.ts";
import type { StoredAttendance } from "../core/ports.ts";
import { derivePresence } from "../core/presence.ts";
import type { DevicePresence } from "../core/queries.ts";

/** A stored punch as the API shows it (the same fields the fan-out carries). */
export function publicAttendance(record: StoredAttendance) {
  return {
    eventId: record.eventId,
    sn: record.sn,
    user_id: record.userId,
    att_time: record.attTime,
    att_time_normalized: record.attTimeNormalized,
    att_state: record.attState,
    received_at: record.receivedAt,
    transport: record.transport,
    extra: record.extra,
  };
}

/** A device's presence as the API shows it. */
export function publicDevice(device: DevicePresence) {
  const view = device.state ? derivePresence(device.state) : undefined;
  return {
    sn: device.sn,
    ...(view ? { online: view.online, since: new Date(view.since).toISOString(), reason: view.reason } : {}),
    ...(view?.connectedAt ? { connectedAt: new Date(view.connectedAt).toISOString() } : {}),
    ...(device.lastSeenAt ? { lastSeenAt: device.lastSeenAt } : {}),
  };
}

/** A device's registry entry as the API shows it (an allow-list: nothing the store adds later leaks). */
export function publicIdentity(identity: DeviceIdentity) {
  return {
    enabled: identity.enabled,
    generation: identity.generation,
    registeredBy: identity.registeredBy,
    createdAt: identity.createdAt,
    ...definedFields({ lastLoginAt: identity.lastLoginAt, updatedAt: identity.updatedAt }),
  };
}

/** What the broker did after a registry change, as the API shows it. */
export function publicCutOff(cutOff: BrokerCutOff) {
  return {
    kicked: cutOff.kicked,
    ...(cutOff.wasConnected !== undefined ? { wasConnected: cutOff.wasConnected } : {}),
    cachesCleared: cutOff.cachesCleared,
    ...(cutOff.warning ? { warning: cutOff.warning } : {}),
  };
}

/** A command as the API shows it. */
export interface PublicCommand {
  id: string;
  sn: string;
  op: string;
  data: Record<string, unknown>;
  status: Command["status"];
  createdAt: string;
  updatedAt: string;
  expiresAt?: string;
  ttlSeconds?: number;
  messageId?: string;
  reason?: string;
  result?: unknown;
  jobId?: string;
}

/**
 * The public view of a stored command. An allow-list, not a deny-list: bookkeeping fields
 * (`requestHash`, `enqueuedAt`, `announcedStatus`, and whatever the store adds later) never leak.
 *
 * @example
 * c.json({ command: publicCommand(stored) }, 202)
 */
export function publicCommand(command: Command): PublicCommand {
  return {
    id: command.id,
    sn: command.sn,
    op: command.op,
    data: command.data,
    status: command.status,
    createdAt: command.createdAt,
    updatedAt: command.updatedAt,
    ...definedFields({
      expiresAt: command.expiresAt,
      ttlSeconds: command.ttlSeconds,
      messageId: command.messageId,
      reason: command.reason,
      result: command.result,
      jobId: command.jobId,
    }),
  };
}
