import { announceStatus } from "../commands/announce.ts";
import { type CreateCommandDeps, createCommand } from "../commands/create-command.ts";
import type { Command } from "../commands/types.ts";
import { deviceTopic } from "../topics.ts";
import type { JsonObject } from "./document.ts";

/**
 * The op of the command that carries a shadow delta. It goes through the commands pipeline like any
 * command (queue, publisher, EMQX publish API, `pending` while offline, re-queued at connect, polled by
 * HTTP devices), but is published on `api/mqtt/v1/{sn}/shadow/delta` with the payload `{"version","state"}`.
 */
export const SHADOW_DELTA_OP = "shadow_delta";

/** One command per delta version: a retried change makes the same command, never a second one. */
export const deltaCommandId = (version: number) => `shadow-delta-${version}`;

export const isShadowDelta = (command: Pick<Command, "op">) => command.op === SHADOW_DELTA_OP;

/** Topic and payload of a delta command (see `envelope.ts`): the device reads `version` and `state`. */
export function shadowDeltaMessage(command: Command): { topic: string; payload: string } {
  const { version, state } = command.data;
  return { topic: deviceTopic(command.sn, "shadow/delta"), payload: JSON.stringify({ version, state }) };
}

/** Makes the delta of `version` a command (nothing when the delta is empty). */
export async function sendDelta(
  deps: CreateCommandDeps,
  sn: string,
  version: number,
  delta: JsonObject,
): Promise<void> {
  if (Object.keys(delta).length === 0) return;
  await createCommand(deps, sn, {
    id: deltaCommandId(version),
    op: SHADOW_DELTA_OP,
    data: { version, state: delta },
  });
}

/**
 * A newer delta replaces an older one that has not left yet: the older command becomes `expired`, so
 * the device (back online, or polling) only gets the newest. One already published stays as it is; the
 * device drops it anyway when its version is older than one it applied.
 */
export async function supersedeDelta(
  deps: CreateCommandDeps,
  sn: string,
  olderVersion: number,
  newerVersion: number,
): Promise<void> {
  const superseded = await deps.commands.transition(
    sn,
    deltaCommandId(olderVersion),
    "expired",
    deps.clock.now().toISOString(),
    { reason: `superseded by the delta of shadow version ${newerVersion}` },
    ["queued", "pending"],
  );
  if (superseded) await announceStatus(deps, superseded);
}
