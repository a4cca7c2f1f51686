/** Key layout of the one table (README "Layout" and docs/decisions.md). Every key is a string; `#` never occurs inside a part. */
export const keys = {
  device: (sn: string) => `DEVICE#${sn}`,
  presence: () => "STATE",
  /** A device's shadow: one item beside its presence (functions/adapters/dynamodb/shadow-store.ts). */
  shadow: () => "SHADOW",
  /** How a device takes its commands when not over MQTT (functions/adapters/dynamodb/device-transport.ts). */
  transport: () => "TRANSPORT",
  attendance: (attTimeNormalized: string, userId: string, attState: number) =>
    `ATT#${attTimeNormalized}#${userId}#${attState}`,
  user: (userId: string) => `USER#${userId}`,
  userAttendance: (attTimeNormalized: string, sn: string) => `${attTimeNormalized}#${sn}`,
  command: (id: string) => `CMD#${id}`,
  /** A device's hold mark: outside `CMD#` so command listings never see it, and in no index. */
  commandHold: () => "CMDHOLD",
  /** A device's "commands may wait" mark, read with its presence; outside `CMD#` and in no index too. */
  commandsWaiting: () => "CMDWAIT",
  commandsByStatus: (sn: string, status: string) => `CMDSTATUS#${sn}#${status}`,
  quarantineDay: (day: string) => `REJECTED#${day}`,
  quarantineEntry: (receivedAt: string, id: string) => `${receivedAt}#${id}`,
} as const;

/** Name of the attribute DynamoDB's TTL deletes items by (epoch seconds). */
// Not `expiresAt`: commands keep an ISO `expiresAt` of their own, which DynamoDB must never take for a TTL.
export const TTL_ATTRIBUTE = "ttlEpochSeconds";
export const GSI1 = "gsi1";

/** GSI1 partition listing every device's presence item, sorted by serial number. */
export const DEVICES_INDEX_KEY = "DEVICES";
