import type { Clock } from "../ports.ts";
import type { CommandAck } from "../schemas/command.ts";
import { type AnnounceDeps, announceStatus } from "./announce.ts";
import type { Command } from "./types.ts";

export interface TrackDeps extends AnnounceDeps {
  clock: Clock;
}

export type TrackOutcome = { command?: Command; changed: boolean };

/** The device PUBACKed the command (EMQX `message.acked` on its cmd topic). */
export async function recordDelivered(
  deps: TrackDeps,
  sn: string,
  id: string,
  messageId?: string,
): Promise<TrackOutcome> {
  return move(deps, sn, id, "delivered", messageId ? { messageId } : {});
}

/** The device answered on its ack topic: `acked` with its result, or `failed` with its error. */
export async function recordDeviceAck(deps: TrackDeps, sn: string, ack: CommandAck): Promise<TrackOutcome> {
  if (ack.ok) return move(deps, sn, ack.id, "acked", ack.result !== undefined ? { result: ack.result } : {});
  return move(deps, sn, ack.id, "failed", {
    reason: ack.error ?? "the device reported a failure",
    ...(ack.result !== undefined ? { result: ack.result } : {}),
  });
}

async function move(
  deps: TrackDeps,
  sn: string,
  id: string,
  status: "delivered" | "acked" | "failed",
  fields: { messageId?: string; reason?: string; result?: unknown },
): Promise<TrackOutcome> {
  const changed = await deps.commands.transition(sn, id, status, deps.clock.now().toISOString(), fields);
  if (changed) {
    await announceStatus(deps, changed);
    return { command: changed, changed: true };
  }
  // Late or repeated: status stays, but an announcement a crash cut short is finished now.
  const current = await deps.commands.get(sn, id);
  if (current) await announceStatus(deps, current);
  return current ? { command: current, changed: false } : { changed: false };
}
