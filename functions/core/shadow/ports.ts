import type { Shadow } from "./document.ts";

/** One item per device shadow, written with optimistic concurrency on `version`. */
export interface ShadowStore {
  /** Read consistently: the version a change is checked against must be the latest one. */
  get(sn: string): Promise<Shadow | undefined>;
  /** Writes `shadow` if the stored version is still `expectedVersion` (0 = none yet); false on a conflict. */
  save(shadow: Shadow, expectedVersion: number): Promise<boolean>;
  /** Records that `version`'s fan-out and delta command are done (never lowers the mark). */
  markSynced(sn: string, version: number): Promise<void>;
}
