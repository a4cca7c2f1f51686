/** The kinds of message on the events queue; also the SQS message attribute `type`. */
export type FanoutType =
  | "attendance"
  | "presence"
  | "command_status"
  | "shadow"
  | "job"
  | "gap_opened"
  | "gap_closed"
  | "gap_unrecoverable"
  | "clock_drift";

/**
 * One message on the SQS "events" queue, the same whatever the transport (MQTT or HTTP). The queue is
 * FIFO with one message group per device (`sn`) and `eventId` as deduplication id; a message can still
 * come twice (a retry after SQS's 5-minute window, a replay), so consumers drop repeats by `eventId`.
 */
export interface FanoutMessage {
  type: FanoutType;
  eventId: string;
  sn: string;
  /** ISO 8601 time of the fact (the punch, the presence change). */
  at: string;
  data: Record<string, unknown>;
}
