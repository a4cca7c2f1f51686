import type { Clock } from "../../../functions/core/ports.ts";

/** The instant a {@link FakeClock} starts at unless told otherwise. */
export const FAKE_CLOCK_START = "2026-11-22T08:00:00.000Z";

/** A clock that only moves when the test moves it: TTLs, leases and windows without waiting. */
export class FakeClock implements Clock {
  private ms: number;

  constructor(start: number | string | Date = FAKE_CLOCK_START) {
    this.ms = typeof start === "number" ? start : new Date(start).getTime();
  }

  now = (): Date => new Date(this.ms);

  advance(ms: number): void {
    this.ms += ms;
  }

  /** Moves to `at` (it may go back: a test of a device's skewed clock). */
  set(at: number | string | Date): void {
    this.ms = typeof at === "number" ? at : new Date(at).getTime();
  }

  iso(): string {
    return this.now().toISOString();
  }
}
