import * as v from "valibot";
import { recordAttendance } from "../core/attendance.ts";
import { recordPresenceAndRequeue } from "../core/commands/requeue-on-connect.ts";
import { InvalidInputError } from "../core/errors.ts";
import type { Transport } from "../core/ports.ts";
import { quarantineAll, type Rejection } from "../core/quarantine.ts";
import { AttendancePayload, AttendanceRecord } from "../core/schemas/attendance.ts";
import { StatusPayload } from "../core/schemas/status.ts";
import type { DeviceChannel } from "../core/topics.ts";
import { fieldPath, issueMessage, parseJson, parseOrReject } from "../core/validation.ts";
import { ingestCommandReply } from "./command-events.ts";
import { ingestShadowReport } from "./routes/shadow.ts";
import type { IngestDeps, IngestResult, RecordRejection } from "./types.ts";

/** A message from a device, whichever transport carried it (EMQX rule or HTTP device endpoint). */
export interface DeviceMessage {
  sn: string;
  channel: DeviceChannel;
  payload: string;
  transport: Transport;
  /** When the broker (or the HTTP endpoint) received it, epoch ms. */
  receivedAt: number;
  emqxId?: string;
  ruleId?: string;
}

/** Validates a device message and hands it to the domain; bad input throws {@link InvalidInputError}. */
export async function ingestDeviceMessage(deps: IngestDeps, message: DeviceMessage): Promise<IngestResult> {
  if (message.channel === "evt") return ingestAttendance(deps, message);
  if (message.channel === "st") return ingestStatus(deps, message);
  if (message.channel === "ack") return ingestCommandReply(deps, message.sn, message.payload);
  if (message.channel === "shadow/update") return ingestShadowReport(deps, message.sn, message.payload);
  throw new InvalidInputError(
    "invalid",
    "topic",
    `topic channel '${message.channel}' is not handled by the ingest`,
  );
}

async function ingestStatus(deps: IngestDeps, message: DeviceMessage): Promise<IngestResult> {
  const status = parseOrReject(StatusPayload, parseJson(message.payload, "payload"), "payload");
  const view = await recordPresenceAndRequeue(deps, message.sn, {
    kind: "status",
    online: status.online,
    at: message.receivedAt,
  });
  await reportToGapTracker(deps, message, status);
  return presenceResult(message.sn, view);
}

/**
 * A heartbeat's `last_seq` / `device_time` go to the gap tracker's queue (one SQS send, no table write);
 * after the presence merge, so a failed send is retried with the heartbeat.
 */
async function reportToGapTracker(deps: IngestDeps, message: DeviceMessage, status: StatusPayload) {
  const reported = [status.last_seq, status.prev_last_seq, status.device_time];
  if (!deps.reports || reported.every((field) => field === undefined)) return;
  await deps.reports.report({
    sn: message.sn,
    receivedAt: message.receivedAt,
    ...(status.last_seq === undefined ? {} : { lastSeq: status.last_seq }),
    ...(status.seq_epoch === undefined ? {} : { epoch: status.seq_epoch }),
    // Without `prev_epoch` there is no telling the old counter from the current one.
    ...(status.prev_last_seq === undefined || status.prev_epoch === undefined
      ? {}
      : { previous: { epoch: status.prev_epoch, lastSeq: status.prev_last_seq } }),
    ...(status.device_time === undefined ? {} : { deviceTime: status.device_time }),
  });
}

/** A record the ingest turns away, with where it was in the payload and why. */
interface BadRecord {
  index: number;
  item: unknown;
  field: string;
  message: string;
  reason: string;
}

async function ingestAttendance(deps: IngestDeps, message: DeviceMessage): Promise<IngestResult> {
  const payload = parseOrReject(AttendancePayload, parseJson(message.payload, "payload"), "payload");
  const items: unknown[] = Array.isArray(payload) ? payload : [payload];
  const prefix = (index: number) => (Array.isArray(payload) ? `payload[${index}]` : "payload");
  const { valid, invalid } = validateRecords(items, prefix);
  const outcome = valid.length
    ? await recordAttendance(deps, {
        sn: message.sn,
        records: valid.map((good) => good.record),
        transport: message.transport,
        ...(message.emqxId ? { emqxId: message.emqxId } : {}),
      })
    : { stored: [], duplicates: [], refused: [] };
  const refused = outcome.refused.map(({ position, reason, message: detail }): BadRecord => {
    const { index, item } = valid[position] as { index: number; item: unknown };
    return { index, item, field: prefix(index), message: `${prefix(index)}: ${detail}`, reason };
  });
  // Quarantined after the good ones are stored and sent: a store outage (503, retried) leaves no entries.
  const bad = [...invalid, ...refused].sort((a, b) => a.index - b.index);
  const rejected = await quarantineRecords(deps, message, bad);
  return {
    result: "attendance",
    sn: message.sn,
    stored: outcome.stored.length,
    duplicates: outcome.duplicates.length,
    rejected,
  };
}

/** Each element on its own, so one bad punch spoils none. */
function validateRecords(items: unknown[], prefix: (index: number) => string) {
  const valid: Array<{ index: number; item: unknown; record: AttendanceRecord }> = [];
  const invalid: BadRecord[] = [];
  for (const [index, item] of items.entries()) {
    const result = v.safeParse(AttendanceRecord, item);
    if (result.success) {
      valid.push({ index, item, record: result.output });
      continue;
    }
    const field = fieldPath(prefix(index), result.issues[0]);
    const detail = `${field}: ${issueMessage(result.issues[0])}`;
    invalid.push({ index, item, field, message: detail, reason: "invalid_attendance_record" });
  }
  return { valid, invalid };
}

/** In batched writes: 500 bad records are a few writes, answered well within the deadline. */
async function quarantineRecords(
  deps: IngestDeps,
  message: DeviceMessage,
  bad: BadRecord[],
): Promise<RecordRejection[]> {
  const rejections = bad.map(
    (record): Rejection => ({
      transport: message.transport,
      status: 422,
      reason: record.reason,
      field: record.field,
      message: record.message,
      // Parsed from at most MAX_JSON_DEPTH levels, so it serializes without overflowing the stack.
      raw: JSON.stringify(record.item) ?? "",
      sn: message.sn,
      ...(message.emqxId ? { emqxId: message.emqxId } : {}),
      ...(message.ruleId ? { ruleId: message.ruleId } : {}),
    }),
  );
  const entries = await quarantineAll(deps, rejections);
  return bad.map((record, i) => ({
    index: record.index,
    field: record.field,
    reason: record.reason,
    message: record.message,
    quarantineId: entries[i]?.id ?? "",
  }));
}

export function presenceResult(
  sn: string,
  view: { online: boolean; since: number } | undefined,
): IngestResult {
  if (!view) return { result: "presence", sn };
  return { result: "presence", sn, online: view.online, since: new Date(view.since).toISOString() };
}
