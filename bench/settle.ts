import type { CommandRun } from "../local/simulator/commands.ts";
import type { SimulationReport } from "../local/simulator/run.ts";

/** What the bench reads back: punches stored in DynamoDB and distinct ones fanned out to SQS. */
export interface Counts {
  stored: number;
  fannedOut: number;
}

export interface SettleOptions {
  /** Give up after this long in all. */
  timeoutMs: number;
  /** Counts that have not moved for this long are final: the rest is never coming. */
  quietMs: number;
  pollMs?: number;
  onProgress?: (counts: Counts, elapsedMs: number) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface Settled extends Counts {
  /** Both counts reached `expected`. */
  complete: boolean;
  /** How it ended: complete, stable short of `expected`, or out of time while still moving. */
  reason: "complete" | "stable" | "timeout";
}

/**
 * Reads the counts until both reach `expected`, or stop moving for `quietMs`, or `timeoutMs` runs out.
 * A slow machine only makes this take longer; a mismatch is reported once the numbers are final.
 */
export async function waitUntilSettled(
  read: () => Promise<Counts>,
  expected: number,
  options: SettleOptions,
): Promise<Settled> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  let last = await read();
  let lastChange = started;
  for (;;) {
    if (last.stored >= expected && last.fannedOut >= expected)
      return { ...last, complete: true, reason: "complete" };
    if (now() - lastChange >= options.quietMs) return { ...last, complete: false, reason: "stable" };
    if (now() - started >= options.timeoutMs) return { ...last, complete: false, reason: "timeout" };
    options.onProgress?.(last, now() - started);
    await sleep(options.pollMs ?? 1_000);
    const next = await read();
    if (next.stored !== last.stored || next.fannedOut !== last.fannedOut) lastChange = now();
    last = next;
  }
}

/** 0 when every punch is stored and fanned out exactly once and every command ended; 1 otherwise. */
export function verdict(ingest: SimulationReport, burst: Pick<CommandRun, "byStatus">): number {
  const punchesOk = ingest.stored === ingest.unique && ingest.fannedOut === ingest.unique;
  const commandsOk = burst.byStatus["not final"] === undefined;
  if (punchesOk && commandsOk) return 0;
  console.error("bench: MISMATCH after the counts settled (see the tables above); exit 1");
  return 1;
}
