import type { SimulatedDevice } from "./device.ts";

/** One punch as the terminal keeps it in its own memory. */
export interface LoggedPunch {
  user_id: string;
  att_time: string;
  att_state: number;
  seq: number;
  seq_epoch: string;
}

/** Largest backlog one resend publishes at a time (the bridge takes up to 500 per message). */
const RESEND_CHUNK = 100;

/**
 * A terminal's local punch log and clock, as the README's firmware section asks for: every punch is
 * numbered (1, 2, 3 ... per epoch), kept, and sent again on `resend` (by number) or `upload_logs` (by
 * time); `set_time` sets the clock. The clock may be skewed and the counter reset (a new epoch).
 */
export class DeviceLog {
  readonly entries: LoggedPunch[] = [];
  private next = 1;
  /** The epoch before the last reset and its last number, reported in heartbeats from then on. */
  private previous: { epoch: string; lastSeq: number } | undefined;

  constructor(
    readonly sn: string,
    public epoch: string,
    /** Device clock minus true time, ms. */
    public skewMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  clock(): number {
    return this.now() + this.skewMs;
  }

  /** Makes, numbers and keeps one punch; the caller publishes it. */
  punch(userId: string, state: number): LoggedPunch {
    const punch = {
      user_id: userId,
      // Milliseconds in the time: two punches of one user never share a natural key.
      att_time: new Date(this.clock()).toISOString(),
      att_state: state,
      seq: this.next++,
      seq_epoch: this.epoch,
    };
    this.entries.push(punch);
    return punch;
  }

  /** A factory reset: counting starts again at 1 under a new epoch; the old punches stay in the log. */
  resetCounter(epoch: string): void {
    this.previous = { epoch: this.epoch, lastSeq: this.lastSeq() };
    this.epoch = epoch;
    this.next = 1;
  }

  lastSeq(): number {
    return this.next - 1;
  }

  range(from: number, to: number, epoch: string): LoggedPunch[] {
    return this.entries.filter((p) => p.seq_epoch === epoch && p.seq >= from && p.seq <= to);
  }

  between(from: string, to: string): LoggedPunch[] {
    return this.entries.filter((p) => p.att_time >= from && p.att_time <= to);
  }

  /** `set_time`: the clock takes the bridge's time (absolute, so a repeated command changes nothing). */
  setTime(time: string): void {
    this.skewMs = Date.parse(time) - this.now();
  }

  heartbeat(): string {
    const clock = new Date(this.clock()).toISOString();
    return JSON.stringify({
      online: true,
      last_seq: this.lastSeq(),
      seq_epoch: this.epoch,
      ...(this.previous ? { prev_epoch: this.previous.epoch, prev_last_seq: this.previous.lastSeq } : {}),
      device_time: clock,
    });
  }
}

/** What a device did with the bridge's backfill and clock commands. */
export interface LogAnswers {
  resent: number;
  uploaded: number;
  setTime: number;
}

/** Makes `device` answer `resend`, `upload_logs` and `set_time` from `log`. */
export function answerFromLog(device: SimulatedDevice, log: DeviceLog, answers: LogAnswers): void {
  device.handle = async (op, data) => {
    const args = (data ?? {}) as Record<string, unknown>;
    if (op === "set_time" && typeof args.time === "string") {
      const before = log.skewMs;
      log.setTime(args.time);
      answers.setTime++;
      return { skew_before_ms: before };
    }
    if (op === "resend") {
      const epoch = typeof args.seq_epoch === "string" ? args.seq_epoch : log.epoch;
      // `ranges` when given (only what is missing), else the bounds.
      const ranges: Array<[number, number]> = Array.isArray(args.ranges)
        ? (args.ranges as Array<[number, number]>)
        : [[Number(args.from_seq), Number(args.to_seq)]];
      const punches = ranges.flatMap(([from, to]) => log.range(from, to, epoch));
      answers.resent += punches.length;
      await publishBacklog(device, punches);
      return { resent: punches.length };
    }
    if (op === "upload_logs") {
      const punches = log.between(String(args.from ?? ""), String(args.to ?? "~"));
      answers.uploaded += punches.length;
      await publishBacklog(device, punches);
      return { uploaded: punches.length };
    }
    return undefined;
  };
}

async function publishBacklog(device: SimulatedDevice, punches: LoggedPunch[]): Promise<void> {
  for (let i = 0; i < punches.length; i += RESEND_CHUNK) {
    await device.publish("evt", JSON.stringify(punches.slice(i, i + RESEND_CHUNK)));
  }
}
