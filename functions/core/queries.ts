import type { StoredAttendance } from "./ports.ts";
import type { PresenceState } from "./presence.ts";
import type { QuarantineEntry } from "./quarantine.ts";
import type { TimeWindow } from "./time-window.ts";

export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  cursor?: string;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

/** Reading attendance back, by device or by user, in time order. */
export interface AttendanceReader {
  byDevice(sn: string, window: TimeWindow, page: PageRequest): Promise<Page<StoredAttendance>>;
  byUser(userId: string, window: TimeWindow, page: PageRequest): Promise<Page<StoredAttendance>>;
  /** Every device's attendance in a window (a table scan: for replays, not for hot paths). */
  all(window: TimeWindow, page: PageRequest): Promise<Page<StoredAttendance>>;
}

export interface DevicePresence {
  sn: string;
  state: PresenceState;
  online?: boolean;
  since?: string;
  lastSeenAt?: string;
}

export interface DeviceReader {
  list(filter: { online?: boolean }, page: PageRequest): Promise<Page<DevicePresence>>;
  get(sn: string): Promise<DevicePresence | undefined>;
}

export interface QuarantineReader {
  byDay(day: string, page: PageRequest): Promise<Page<QuarantineEntry>>;
}
