import { definedFields } from "../defined-fields.ts";
import { stableEventId } from "../event-id.ts";
import type { FanoutMessage } from "../fanout.ts";
import type { CommandRequest } from "../schemas/command.ts";
import type { BackfillRequest, GapChange } from "./lifecycle.ts";
import { countOf } from "./ranges.ts";
import type { DriftState, Gap } from "./types.ts";

/** A gap as the API and the events show it. */
export function publicGap(sn: string, gap: Gap) {
  return {
    sn,
    seq_epoch: gap.epoch,
    from_seq: gap.from,
    to_seq: gap.to,
    missing: countOf(gap.missing),
    missing_ranges: gap.missing,
    status: gap.status,
    source: gap.source,
    detected_at: gap.detectedAt,
    attempts: gap.attempts,
    ...definedFields({ opened_at: gap.openedAt, closed_at: gap.closedAt }),
    ...(gap.nextAttemptAt && gap.status === "open" ? { next_attempt_at: gap.nextAttemptAt } : {}),
  };
}

/** One event per gap and kind: a gap opens, closes or is given up once, so its id is the gap's own. */
export function gapMessage(sn: string, change: GapChange, now: string): FanoutMessage {
  const { gap } = change;
  return {
    type: change.type,
    eventId: stableEventId(change.type, sn, gap.epoch, gap.from, gap.to),
    sn,
    at: now,
    data: publicGap(sn, gap),
  };
}

export function driftMessage(sn: string, drift: DriftState, thresholdMs: number, now: string): FanoutMessage {
  return {
    type: "clock_drift",
    eventId: stableEventId("clock_drift", sn, drift.episode),
    sn,
    at: now,
    data: {
      offset_ms: drift.offsetMs,
      source: drift.source,
      threshold_ms: thresholdMs,
      episode: drift.episode,
    },
  };
}

/** A command id the same on every run that would send the same command, so a crashed run's retry is a replay. */
const commandId = (prefix: string, ...parts: Array<string | number>) =>
  `${prefix}-${stableEventId(...parts).slice(0, 24)}`;

/**
 * `resend` for every missing range of one epoch: `from_seq`/`to_seq` bound them (what a simple firmware
 * resends), `ranges` lists them (what a careful one resends). It expires when the next attempt is due,
 * so attempts never pile up in the device's queue.
 */
export function resendCommand(sn: string, request: BackfillRequest, nowMs: number): CommandRequest {
  const ttl = Math.round((Date.parse(request.until) - nowMs) / 1000);
  const first = request.ranges[0] ?? [0, 0];
  const last = request.ranges.at(-1) ?? first;
  return {
    id: commandId("resend", sn, request.epoch, request.wave),
    op: "resend",
    data: { from_seq: first[0], to_seq: last[1], seq_epoch: request.epoch, ranges: request.ranges },
    ttlSeconds: Math.min(Math.max(60, Number.isFinite(ttl) ? ttl : 60), 7 * 24 * 3600),
  };
}

/** A `set_time` not delivered by then is dropped: an old time would be a wrong one. */
export const SET_TIME_TTL_SECONDS = 300;

/**
 * `set_time` with the bridge's time: absolute, so a repeated or late command cannot correct twice; it
 * expires after 5 minutes, since an old time would be a wrong one.
 */
export function setTimeCommand(sn: string, drift: DriftState, now: string): CommandRequest {
  return {
    id: commandId("set-time", sn, drift.episode, drift.setTimeSent),
    op: "set_time",
    data: { time: now, offset_ms: drift.offsetMs },
    ttlSeconds: SET_TIME_TTL_SECONDS,
  };
}
