import type { Page } from "../queries.ts";
import type { TargetDirectory } from "./ports.ts";
import type { JobTargets } from "./types.ts";

/**
 * One page of a job's target serial numbers from `cursor`: a listed job's from its list (the cursor is
 * the offset), a group's from its membership index, `all` from the devices index.
 */
export async function targetPage(
  directory: TargetDirectory,
  targets: JobTargets,
  cursor: string | undefined,
  limit: number,
): Promise<Page<string>> {
  const page = { limit, ...(cursor ? { cursor } : {}) };
  if (targets.sns) {
    const from = cursor ? Number(cursor) : 0;
    const to = from + limit;
    const items = targets.sns.slice(from, to);
    return to < targets.sns.length ? { items, cursor: String(to) } : { items };
  }
  if (targets.group !== undefined) return directory.groupMembers(targets.group, page);
  return directory.allDevices(page);
}

/** How many devices the job targets, when that is cheap to know before the fan-out ends. */
export async function targetCount(
  directory: TargetDirectory,
  targets: JobTargets,
): Promise<number | undefined> {
  if (targets.sns) return targets.sns.length;
  if (targets.group !== undefined) return directory.countGroup(targets.group);
  return undefined;
}
