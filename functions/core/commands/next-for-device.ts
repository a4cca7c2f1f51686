import type { CommandStatus } from "../schemas/command.ts";
import { announceStatus } from "./announce.ts";
import { isExpired } from "./envelope.ts";
import { byOrderKey } from "./older-first.ts";
import type { CommandStore } from "./ports.ts";
import { recordDelivered, type TrackDeps } from "./track-delivery.ts";
import type { Command } from "./types.ts";

/** Statuses a polling device may take a command from: not yet handed to EMQX, or left there unheard. */
const DELIVERABLE: readonly CommandStatus[] = ["queued", "pending"];

/** Commands of each status looked at per look; the oldest of them is the one taken. */
const PAGE = 10;

/**
 * Looks again when every candidate expired or was taken by a concurrent poll or a PUBACK (the status
 * index is eventually consistent, so it may still list them); bounded so a stale index cannot spin.
 */
const LOOKS = 3;

/**
 * Takes the device's oldest deliverable command and marks it `delivered` through the same path as a
 * PUBACK (so the change is announced like any other); expired ones on the way become `expired`, as
 * the publisher would do. Undefined when there is none. The forward-only status makes a race with an
 * MQTT delivery or another poll harmless: only one `delivered` is recorded, and only its taker returns it.
 */
export async function takeNextCommand(deps: TrackDeps, sn: string): Promise<Command | undefined> {
  for (let look = 0; look < LOOKS; look++) {
    const candidates = await deliverable(deps.commands, sn);
    if (candidates.length === 0) return undefined;
    for (const command of candidates) {
      if (isExpired(command, deps.clock.now())) {
        await expire(deps, command);
        continue;
      }
      const outcome = await recordDelivered(deps, sn, command.id);
      if (outcome.changed) return outcome.command;
    }
  }
  return undefined;
}

export interface WaitOptions {
  /** How long to wait for a command when there is none yet; 0 looks once. */
  waitMs: number;
  /** Pause between looks: each costs one query per deliverable status. */
  intervalMs: number;
  /** Aborted when the client is gone: nothing is taken for a device that cannot receive it. */
  signal?: AbortSignal;
}

/** {@link takeNextCommand}, looking again every `intervalMs` until one is there or `waitMs` has passed. */
export async function waitForNextCommand(
  deps: TrackDeps,
  sn: string,
  options: WaitOptions,
): Promise<Command | undefined> {
  // Elapsed time is measured on the monotonic timer: the injected clock is the domain's notion of "now".
  const until = performance.now() + options.waitMs;
  for (;;) {
    if (options.signal?.aborted) return undefined;
    const command = await takeNextCommand(deps, sn);
    if (command) return command;
    const left = until - performance.now();
    if (left <= 0) return undefined;
    if (!(await pause(Math.min(options.intervalMs, left), options.signal))) return undefined;
  }
}

/**
 * Waits `ms` on the global timer (which tests can fake, unlike `node:timers/promises`); false when
 * `signal` aborts first.
 */
function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const stop = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/**
 * The device's `queued` and `pending` commands, oldest first across both, in the publisher's order
 * (`createdAt`, then id): commands created in one millisecond reach a device the same way over either transport.
 */
async function deliverable(commands: CommandStore, sn: string): Promise<Command[]> {
  const pages = await Promise.all(DELIVERABLE.map((status) => commands.listByStatus(sn, status, PAGE)));
  return pages.flatMap((page) => page.items).sort(byOrderKey);
}

async function expire(deps: TrackDeps, command: Command): Promise<void> {
  const expired = await deps.commands.transition(
    command.sn,
    command.id,
    "expired",
    deps.clock.now().toISOString(),
    { reason: "its TTL passed before it could be delivered" },
    DELIVERABLE,
  );
  if (expired) await announceStatus(deps, expired);
}
