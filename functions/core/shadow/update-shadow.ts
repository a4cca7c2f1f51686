import { canonicalJson } from "../canonical-json.ts";
import type { CreateCommandDeps } from "../commands/create-command.ts";
import { InvalidInputError, TransientError } from "../errors.ts";
import { stableEventId } from "../event-id.ts";
import { MAX_SHADOW_BYTES } from "../schemas/shadow.ts";
import { sendDelta, supersedeDelta } from "./delta-command.ts";
import {
  computeDelta,
  emptyShadow,
  type JsonObject,
  mergePatch,
  type Shadow,
  type ShadowSection,
  stateBytes,
} from "./document.ts";
import { ShadowVersionConflictError } from "./errors.ts";
import { shadowMessage } from "./fanout.ts";
import type { ShadowStore } from "./ports.ts";

export interface ShadowDeps extends CreateCommandDeps {
  shadows: ShadowStore;
}

/** One change: a merge patch of one section, optionally only if the shadow is still at `expectedVersion`. */
export interface ShadowChange {
  section: ShadowSection;
  patch: JsonObject;
  expectedVersion?: number;
}

/** Concurrent writers without an expected version try again on a conflict, this many times at most. */
const MAX_WRITE_ATTEMPTS = 8;

const deltaHash = (delta: JsonObject) => stableEventId("shadow-delta", canonicalJson(delta));
const EMPTY_DELTA_HASH = deltaHash({});

/**
 * Merges one change into the device's shadow: one consistent read and one conditional write per change
 * (nothing is written when the change changes nothing). Then the change is fanned out (`type: shadow`)
 * and, when the delta changed, the new delta goes to the device as a command and the older one, if still
 * unsent, is superseded. A crash before those is healed by the device's next change (see `finishSync`).
 * A stale `expectedVersion` is a {@link ShadowVersionConflictError}.
 */
export async function updateShadow(
  deps: ShadowDeps,
  sn: string,
  change: ShadowChange,
): Promise<{ shadow: Shadow; changed: boolean }> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const current = (await deps.shadows.get(sn)) ?? emptyShadow(sn);
    await finishSync(deps, current);
    if (change.expectedVersion !== undefined && change.expectedVersion !== current.version) {
      throw new ShadowVersionConflictError(sn, change.expectedVersion, current.version);
    }
    const next = applyChange(current, change, deps.clock.now().toISOString());
    if (!next) return { shadow: current, changed: false };
    // Lost to a concurrent change: read again (and, with an expected version, answer the conflict).
    if (!(await deps.shadows.save(next, current.version))) continue;
    await finishSync(deps, next);
    return { shadow: { ...next, syncedVersion: next.version }, changed: true };
  }
  throw new TransientError(`the shadow of ${sn} kept changing under ${MAX_WRITE_ATTEMPTS} concurrent writes`);
}

/** The shadow after `change`, one version on; `undefined` when it changes nothing. */
export function applyChange(current: Shadow, change: ShadowChange, at: string): Shadow | undefined {
  const { section } = change;
  const times = { ...current.metadata[section] };
  const merged = mergePatch(current[section], change.patch, times, at);
  if (canonicalJson(merged) === canonicalJson(current[section])) return undefined;
  const next: Shadow = {
    ...current,
    [section]: merged,
    metadata: { ...current.metadata, [section]: times },
    version: current.version + 1,
    updatedAt: at,
  };
  const bytes = stateBytes(next);
  if (bytes > MAX_SHADOW_BYTES) {
    const detail = `the shadow would hold ${bytes} bytes, more than the ${MAX_SHADOW_BYTES} allowed`;
    throw new InvalidInputError("invalid", section, `${section}: ${detail}`);
  }
  const hash = deltaHash(computeDelta(next.desired, next.reported));
  if (hash === (current.deltaHash ?? EMPTY_DELTA_HASH)) return next;
  const { previousDeltaVersion: _older, ...rest } = next;
  return {
    ...rest,
    deltaVersion: next.version,
    deltaHash: hash,
    ...(current.deltaVersion !== undefined ? { previousDeltaVersion: current.deltaVersion } : {}),
  };
}

/**
 * The effects of a stored version, each safe to repeat: the fan-out message (deterministic eventId),
 * the superseding of the older delta and the delta command (its id names the version). Marked done last.
 */
async function finishSync(deps: ShadowDeps, shadow: Shadow): Promise<void> {
  if (shadow.version === 0 || shadow.syncedVersion === shadow.version) return;
  await deps.events.send([shadowMessage(shadow)]);
  if (shadow.deltaVersion === shadow.version) {
    if (shadow.previousDeltaVersion !== undefined)
      await supersedeDelta(deps, shadow.sn, shadow.previousDeltaVersion, shadow.version);
    await sendDelta(deps, shadow.sn, shadow.version, computeDelta(shadow.desired, shadow.reported));
  }
  await deps.shadows.markSynced(shadow.sn, shadow.version);
}
