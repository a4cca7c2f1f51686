import { shiftAt, windowAround } from "./att-window.ts";
import type { AtWindow } from "./ports.ts";
import type { GapConfig, GapTracker } from "./types.ts";

/** How far back a device seen for the first time is read. */
export const FIRST_LOOKBACK_MS = 7 * 24 * 3600_000;

/**
 * What a pass reads: everything from the newest punch it knows (less the slack, less how far the device's
 * clock may have been set back), and around every unresolved gap, where its punches will sort when a
 * backfill brings them (with their original times).
 */
export function readWindows(tracker: GapTracker | undefined, nowMs: number, config: GapConfig): AtWindow[] {
  const jump = Math.max(Math.abs(tracker?.drift?.offsetMs ?? 0), tracker?.drift?.correctionMs ?? 0);
  const slack = config.windowSlackMs + jump;
  // The current series (newest received) and the latest time read: the earlier of the two, so a lagging
  // written top is read again from where it stood.
  const current = [...(tracker?.series ?? [])]
    .sort((a, b) => a.lastReceivedAt.localeCompare(b.lastReceivedAt))
    .at(-1);
  const start = [current?.topAt ?? "", tracker?.latestAt ?? ""].filter(Boolean).sort()[0];
  const main: AtWindow = {
    from: start ? shiftAt(start, -slack) : new Date(nowMs - FIRST_LOOKBACK_MS - jump).toISOString(),
  };
  const around = (tracker?.gaps ?? [])
    .filter((gap) => gap.status !== "closed")
    .map((gap) => windowAround(gap.afterAt, gap.beforeAt, slack))
    .filter((w) => !w.from || (main.from !== undefined && w.from < main.from));
  return [main, ...around.map((w) => (w.from ? w : main))];
}
