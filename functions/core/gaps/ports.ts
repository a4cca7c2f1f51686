import type { DeviceReport, GapTracker, SeenPunch } from "./types.ts";

/** A range of normalized `att_time`s to read a device's punches in; open at an end that is absent. */
export interface AtWindow {
  from?: string;
  to?: string;
}

export interface GapTrackerPage {
  items: GapTracker[];
  cursor?: string;
}

/** The per-device tracker items. */
export interface GapStore {
  get(sn: string): Promise<GapTracker | undefined>;
  /** Writes the tracker if its stored version is still `tracker.version` (0 = none); false on a conflict. */
  save(tracker: GapTracker): Promise<boolean>;
  /** Trackers with a gap not closed (pending, open or unrecoverable), by serial number. */
  listUnresolved(limit: number, cursor?: string): Promise<GapTrackerPage>;
}

/** The stored punches as the tracker reads them. */
export interface PunchReader {
  /** Every punch of `sn` whose normalized `att_time` falls in one of `windows`, each once. */
  read(sn: string, windows: AtWindow[]): Promise<SeenPunch[]>;
  /** Marks a stored punch as having an impossible time; it stays stored. */
  flagSuspect(sn: string, punch: SeenPunch, reason: string): Promise<void>;
}

/** Which devices a pass looks at. */
export interface DeviceLister {
  listDevices(): AsyncIterable<string>;
}

/** Where heartbeats' `last_seq` / `device_time` wait for the tracker (written by the ingest). */
export interface DeviceReportSink {
  report(report: DeviceReport): Promise<void>;
}

export interface DeviceReportSource {
  /**
   * Up to `max` waiting reports; `done` removes them once they are merged, but those of the devices in
   * `keep` (a failed reconcile), which come back for the next pass.
   */
  take(max: number): Promise<{ reports: DeviceReport[]; done(keep?: ReadonlySet<string>): Promise<void> }>;
}
