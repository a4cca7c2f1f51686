import { randomUUID } from "node:crypto";
import { attendanceMessage } from "./attendance.ts";
import type { EventQueue } from "./ports.ts";
import type { AttendanceReader } from "./queries.ts";
import type { TimeWindow } from "./time-window.ts";

export interface ReplayDeps {
  reader: AttendanceReader;
  events: EventQueue;
}

export interface ReplayRequest {
  window: TimeWindow;
  sn?: string;
  /** From the previous answer, to continue where it stopped. */
  cursor?: string;
  /** Records read per call; each call is one page, so a replay survives timeouts and can be resumed. */
  pageSize: number;
}

export interface ReplayProgress {
  /** Attendance messages sent by this call. */
  replayed: number;
  /** The latest normalized `att_time` sent by this call (time order holds within a device). */
  through?: string;
  /** Present while there is more: send it back to continue. */
  cursor?: string;
  done: boolean;
}

/**
 * Sends stored attendance in a window to the events queue again, with the same `eventId`s as the
 * first time, so consumers that lost data can take it and ones that did not can dedupe. The queue does
 * not drop them as repeats, even of a send within its deduplication window.
 */
export async function replayAttendance(deps: ReplayDeps, request: ReplayRequest): Promise<ReplayProgress> {
  const page = { limit: request.pageSize, ...(request.cursor ? { cursor: request.cursor } : {}) };
  const result = request.sn
    ? await deps.reader.byDevice(request.sn, request.window, page)
    : await deps.reader.all(request.window, page);
  // A fresh resend id per call: the queue must not drop a replay as a repeat of a send minutes ago.
  const resendId = `replay-${randomUUID()}`;
  if (result.items.length) await deps.events.send(result.items.map(attendanceMessage), { resendId });
  const through = result.items
    .map((r) => r.attTimeNormalized)
    .sort()
    .at(-1);
  return {
    replayed: result.items.length,
    ...(through ? { through } : {}),
    ...(result.cursor ? { cursor: result.cursor } : {}),
    done: !result.cursor,
  };
}
