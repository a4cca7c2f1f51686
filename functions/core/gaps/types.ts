/** Inclusive range of punch numbers, `[from, to]`. */
export type SeqRange = [number, number];

/**
 * - `pending`: numbers missing, still within the grace period (EMQX may still be retrying them); not announced.
 * - `open`: announced (`gap_opened`), backfill asked for; `closed` once every number arrived.
 * - `unrecoverable`: backfill attempts used up; stays visible, and still closes if the punches come.
 */
export type GapStatus = "pending" | "open" | "closed" | "unrecoverable";

export interface Gap {
  epoch: string;
  /** The range as first detected; it is the gap's identity (ids of its events and commands). */
  from: number;
  to: number;
  /** What is still missing of it. */
  missing: SeqRange[];
  status: GapStatus;
  /** `seq`: numbers skipped between punches; `tail`: after the last punch, from a heartbeat's `last_seq`. */
  source: "seq" | "tail";
  detectedAt: string;
  openedAt?: string;
  closedAt?: string;
  /** Backfill commands sent so far, and when the next may go. */
  attempts: number;
  nextAttemptAt?: string;
  lastAskedAt?: string;
  /** `att_time` (normalized) of the punches around the gap: where its punches will sort when they come. */
  afterAt?: string;
  beforeAt?: string;
}

/** One run of a device's counter. */
export interface SeqSeries {
  epoch: string;
  /** The highest number seen, and its punch's normalized `att_time`. */
  top: number;
  topAt?: string;
  /** When a punch of this epoch was last received: the newest series is the device's current one. */
  lastReceivedAt: string;
}

export interface DriftState {
  /** Device clock minus bridge clock, ms, as last estimated. */
  offsetMs: number;
  source: "status" | "punch";
  sampledAt: string;
  /** Counts the times the offset went past the threshold: the `clock_drift` event's identity. */
  episode: number;
  /** Past the threshold now (announced for this episode). */
  flagged: boolean;
  setTimeSent: number;
  lastSetTimeAt?: string;
  /** The largest correction asked for lately: how far back the device's `att_time` may jump. */
  correctionMs?: number;
}

/** Everything the tracker keeps per device: one item, written only when something worth keeping changed. */
export interface GapTracker {
  sn: string;
  firstSightAt: string;
  series: SeqSeries[];
  gaps: Gap[];
  drift?: DriftState;
  /** The highest numbers as last written, per epoch: the write is skipped until they grow by enough. */
  persistedTop: Record<string, number>;
  /**
   * The resend commands of the last wave, and until when each holds the next wave: while one is neither
   * answered nor expired, no new wave goes out (it would only queue behind it). `holdsUntil` is its
   * expiry, at most the longest backoff after it was sent (an answer lost on its way holds no longer).
   */
  resends?: Array<{ id: string; holdsUntil: string }>;
  /** The latest normalized `att_time` read, and as last written: where the next pass starts reading. */
  latestAt?: string;
  persistedLatestAt?: string;
  /** Optimistic lock: 0 = no item yet. */
  version: number;
}

/** A stored punch as the tracker reads it. */
export interface SeenPunch {
  eventId: string;
  attTimeNormalized: string;
  receivedAt: string;
  seq?: number;
  epoch: string;
  /** The sort key parts, to flag the stored item. */
  userId: string;
  attState: number;
  suspect?: string;
}

/** What a heartbeat (`st`) said besides presence. */
export interface DeviceReport {
  sn: string;
  /** When EMQX (or the HTTP endpoint) received it, epoch ms. */
  receivedAt: number;
  lastSeq?: number;
  epoch?: string;
  /** The last number of the epoch before a counter reset (`prev_epoch`, `prev_last_seq`). */
  previous?: { epoch: string; lastSeq: number };
  /** The device's clock when it sent the heartbeat, epoch ms. */
  deviceTime?: number;
}

/** Tunables; times in ms. `DEFAULT_GAP_CONFIG` holds the production values and why. */
export interface GapConfig {
  graceMs: number;
  backoffMs: number;
  maxBackoffMs: number;
  maxAttempts: number;
  /** Most punches one resend command asks for; a longer gap is asked for in pieces. */
  maxResend: number;
  /** Write the tracker when the top number grew by this much (else only when gaps or drift change). */
  persistEvery: number;
  /** How far around a punch's `att_time` the tracker looks for its neighbours (device clocks wobble). */
  windowSlackMs: number;
  driftThresholdMs: number;
  setTime: boolean;
  setTimeCooldownMs: number;
  maxSetTime: number;
  /** A punch this far after its receipt, or before the device's first sight, is flagged `suspect`. */
  suspectMs: number;
  closedKept: number;
}
