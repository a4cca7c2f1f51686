import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  derivePresence,
  EMPTY_PRESENCE,
  mergeSignal,
  type PresenceSignal,
  TAKEOVER_WILL_WINDOW_MS,
} from "../../functions/core/presence.ts";

type Happening = "connect" | "disconnect" | "drop" | "takeover";

/** Plays what a device really did, in real order, and returns the signals EMQX would emit plus the truth. */
function play(happenings: Array<{ what: Happening; gap: number; jitter: number; withSt: boolean }>) {
  const signals: PresenceSignal[] = [];
  let t = 1_700_000_000_000;
  let session: number | undefined;
  for (const h of happenings) {
    t += h.gap;
    const what = h.what === "connect" && session !== undefined ? "takeover" : h.what;
    if (what === "connect" || what === "takeover") {
      if (what === "takeover" && session !== undefined) {
        const reason = h.jitter % 2 ? "takenover" : "discarded";
        signals.push({ kind: "disconnected", connectedAt: session, disconnectedAt: t, reason });
        signals.push({ kind: "status", online: false, at: t + (h.jitter % TAKEOVER_WILL_WINDOW_MS) });
      }
      session = t;
      signals.push({ kind: "connected", connectedAt: t });
      if (h.withSt) signals.push({ kind: "status", online: true, at: t + 1 });
      continue;
    }
    if (session === undefined) continue;
    const reason = what === "disconnect" ? "normal" : h.jitter % 2 ? "tcp_closed" : "keepalive_timeout";
    if (what === "drop") signals.push({ kind: "status", online: false, at: t });
    signals.push({ kind: "disconnected", connectedAt: session, disconnectedAt: t, reason });
    session = undefined;
  }
  return { signals, online: session !== undefined };
}

const happening = fc.record({
  what: fc.constantFrom<Happening>("connect", "disconnect", "drop", "takeover"),
  // Real reconnects are seconds apart; the will window is 3 s.
  gap: fc.integer({ min: 10_000, max: 600_000 }),
  jitter: fc.integer({ min: 0, max: 10_000 }),
  withSt: fc.boolean(),
});

const derive = (signals: PresenceSignal[]) => derivePresence(signals.reduce(mergeSignal, EMPTY_PRESENCE));

describe("presence", () => {
  it("is right for any arrival order of any connect/disconnect/drop/takeover history, with duplicates", () => {
    fc.assert(
      fc.property(
        fc.array(happening, { minLength: 1, maxLength: 8 }).chain((history) => {
          const played = play(history);
          return fc.record({
            played: fc.constant(played),
            order: fc.shuffledSubarray(played.signals, {
              minLength: played.signals.length,
              maxLength: played.signals.length,
            }),
            repeats: fc.subarray(played.signals),
          });
        }),
        ({ played, order, repeats }) => {
          if (played.signals.length === 0) return;
          const inOrder = derive(played.signals);
          const shuffled = derive([...order, ...repeats]);
          expect(shuffled?.online).toBe(played.online);
          expect(shuffled).toEqual(inOrder);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("ignores a disconnect of an older session that arrives after the newer session's connect", () => {
    const view = derive([
      { kind: "connected", connectedAt: 2_000 },
      { kind: "disconnected", connectedAt: 1_000, disconnectedAt: 2_500, reason: "keepalive_timeout" },
    ]);
    expect(view).toMatchObject({ online: true, since: 2_000 });
  });

  it("never marks a device offline for takenover or discarded, nor for the will such a takeover publishes", () => {
    for (const reason of ["takenover", "discarded"]) {
      const view = derive([
        { kind: "connected", connectedAt: 1_000 },
        { kind: "disconnected", connectedAt: 1_000, disconnectedAt: 50_000, reason },
        { kind: "status", online: false, at: 50_400 },
      ]);
      expect(view?.online).toBe(true);
    }
  });

  it("takes an st message that is newer than the lifecycle events", () => {
    const view = derive([
      { kind: "connected", connectedAt: 1_000 },
      { kind: "status", online: false, at: 90_000 },
    ]);
    expect(view).toMatchObject({ online: false, since: 90_000, reason: "will" });
  });

  it("works from st messages alone (devices behind a broker without lifecycle rules, HTTP devices)", () => {
    const view = derive([
      { kind: "status", online: true, at: 5_000 },
      { kind: "status", online: false, at: 4_000 },
    ]);
    expect(view).toMatchObject({ online: true, since: 5_000, reason: "status" });
  });
});
