import type { Page, PageRequest } from "../queries.ts";

/** A device's groups and attributes (`PUT /v1/devices/{sn}`), beside its identity and presence. */
export interface DeviceProfile {
  sn: string;
  groups: string[];
  attributes: Record<string, string | number | boolean>;
  updatedAt: string;
}

/**
 * Device profiles and the group index: one membership item per (group, device), written with the
 * profile in one transaction, so a group's devices are one Query away (no scan), however large.
 */
export interface DeviceProfiles {
  get(sn: string): Promise<DeviceProfile | undefined>;
  /** Replaces the device's groups and attributes; memberships follow in the same transaction. */
  put(profile: DeviceProfile): Promise<DeviceProfile>;
  /** A group's devices (profiles as the membership items carry them), by serial number. */
  members(group: string, page: PageRequest): Promise<Page<DeviceProfile>>;
}
