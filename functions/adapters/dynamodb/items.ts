import * as v from "valibot";
import { SCOPES } from "../../core/api-keys.ts";
import type { AnnouncedPresence } from "../../core/presence.ts";
import { CommandStatus } from "../../core/schemas/command.ts";

/**
 * The domain records as the table holds them, read back through these schemas instead of a cast.
 * Loose: an attribute a later version adds passes through, as it did before. Only the shapes are
 * checked; the values were validated when they were written.
 */
const text = v.string();
const optionalText = v.optional(v.string());
const Transport = v.picklist(["mqtt", "http"]);

export const StoredCommandItem = v.looseObject({
  sn: text,
  id: text,
  op: text,
  data: v.record(v.string(), v.unknown()),
  status: CommandStatus,
  createdAt: text,
  updatedAt: text,
  expiresAt: optionalText,
  ttlSeconds: v.optional(v.number()),
  requestHash: text,
  messageId: optionalText,
  reason: optionalText,
  result: v.optional(v.unknown()),
  enqueuedAt: optionalText,
  announcedStatus: v.optional(CommandStatus),
  jobId: optionalText,
});

export const StoredAttendanceItem = v.looseObject({
  eventId: text,
  sn: text,
  userId: text,
  attTime: text,
  attTimeNormalized: text,
  attState: v.number(),
  extra: v.record(v.string(), v.unknown()),
  receivedAt: text,
  transport: Transport,
  emqxId: optionalText,
  storedBy: optionalText,
});

export const StoredApiKeyItem = v.looseObject({
  name: text,
  hash: text,
  scopes: v.array(v.picklist(SCOPES)),
  createdAt: text,
  revokedAt: optionalText,
});

export const StoredQuarantineItem = v.looseObject({
  id: text,
  day: text,
  receivedAt: text,
  transport: Transport,
  status: v.number(),
  reason: text,
  field: text,
  message: text,
  raw: text,
  rawBytes: v.number(),
  truncated: v.boolean(),
  sn: optionalText,
  emqxId: optionalText,
  ruleId: optionalText,
});

/** A device's hold mark beside its commands (command-store.ts). */
export const StoredHoldItem = v.looseObject({ sn: text, heldThrough: text });

/** A device's "commands may wait" mark (command-store.ts `markWaiting`); no time: none waits. */
export const StoredWaitingItem = v.looseObject({ sn: text, markedAt: v.optional(text) });

/** How a device takes its commands, once an operator set it (device-transport.ts). */
export const StoredTransportItem = v.looseObject({ sn: text, transport: Transport });

/** A device's presence state (functions/core/presence.ts) as the presence store writes it. */
const StoredPresenceState = v.looseObject({
  session: v.optional(
    v.looseObject({ connectedAt: v.number(), disconnectedAt: v.optional(v.number()), reason: optionalText }),
  ),
  unmatchedEnd: v.optional(v.looseObject({ disconnectedAt: v.number(), reason: text })),
  takeovers: v.array(v.number()),
  status: v.optional(v.looseObject({ online: v.boolean(), at: v.number() })),
  lastSeenAt: v.number(),
  // The fan-out's own bookkeeping, read back whole as it wrote it: only its decisive fields are checked.
  announced: v.optional(
    v.custom<AnnouncedPresence>(
      (value) => v.is(v.looseObject({ online: v.boolean(), since: v.number(), reason: text }), value),
      "announced presence is malformed",
    ),
  ),
});

export const StoredPresenceItem = v.looseObject({
  sn: text,
  version: v.number(),
  state: StoredPresenceState,
  online: v.optional(v.boolean()),
  since: optionalText,
  lastSeenAt: optionalText,
});

/**
 * `item` as `schema` reads it, without the table's own attributes (keys, index keys, `type`, ...). A
 * stored item of another shape is a bug or a hand edit, never the caller's input: it fails loudly.
 */
export function readItem<S extends v.GenericSchema<unknown, Record<string, unknown>>>(
  schema: S,
  item: Record<string, unknown>,
  tableAttributes: readonly string[],
): v.InferOutput<S> {
  const record: Record<string, unknown> = { ...item };
  for (const name of tableAttributes) delete record[name];
  const result = v.safeParse(schema, record);
  if (result.success) return result.output;
  const issue = result.issues[0];
  throw new Error(
    `stored item ${String(item.pk)} ${String(item.sk)} is malformed: ${v.getDotPath(issue) ?? ""} ${issue.message}`,
  );
}
