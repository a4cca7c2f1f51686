import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  derivePresence,
  EMPTY_PRESENCE,
  mergeSignal,
  type PresenceSignal,
  TAKEOVER_WILL_WINDOW_MS,
} from "../../functions/core/presence.ts";
import { arrivals } from "../support/presence-history.ts";

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

describe("presence with EMQX 5.7.0–5.8.5 disconnects (no connected_at)", () => {
  it("is right for any arrival order of histories with st messages, wills and legacy disconnects", () => {
    fc.assert(
      fc.property(arrivals, ({ played, delivered }) => {
        const shuffled = derive(delivered);
        expect(shuffled?.online ?? false).toBe(played.online);
        expect(shuffled).toEqual(derive(played.signals));
      }),
      { numRuns: 3_000 },
    );
  });

  it("ends the session that began before the disconnect, in either arrival order", () => {
    const connect: PresenceSignal = { kind: "connected", connectedAt: 1_000 };
    const disconnect: PresenceSignal = { kind: "disconnected", disconnectedAt: 9_000, reason: "normal" };
    const expected = { online: false, since: 9_000, reason: "normal", connectedAt: 1_000 };
    expect(derive([connect, disconnect])).toEqual(expected);
    expect(derive([disconnect, connect])).toEqual(expected);
  });

  it("leaves a session that began after the disconnect online, in either arrival order", () => {
    const disconnect: PresenceSignal = {
      kind: "disconnected",
      disconnectedAt: 9_000,
      reason: "keepalive_timeout",
    };
    const reconnect: PresenceSignal = { kind: "connected", connectedAt: 20_000 };
    const connect: PresenceSignal = { kind: "connected", connectedAt: 1_000 };
    for (const order of [
      [connect, disconnect, reconnect],
      [reconnect, disconnect, connect],
      [disconnect, reconnect, connect],
    ]) {
      expect(derive(order)).toMatchObject({ online: true, since: 20_000, reason: "connected" });
    }
  });

  it("keeps a device online through a takeover disconnect without connected_at and its will", () => {
    const view = derive([
      { kind: "connected", connectedAt: 1_000 },
      { kind: "status", online: false, at: 50_200 },
      { kind: "disconnected", disconnectedAt: 50_000, reason: "takenover" },
      { kind: "connected", connectedAt: 50_000 },
    ]);
    expect(view).toMatchObject({ online: true, since: 50_000 });
  });

  it("marks a device offline from a disconnect alone when its connect was never seen", () => {
    const view = derive([{ kind: "disconnected", disconnectedAt: 9_000, reason: "normal" }]);
    expect(view).toEqual({ online: false, since: 9_000, reason: "normal" });
  });
});

describe("presence views that agree", () => {
  it("keeps the connect as the reason when an st online confirms it, so the confirmation is no change", () => {
    const connected = derive([{ kind: "connected", connectedAt: 1_000 }]);
    const confirmed = derive([
      { kind: "connected", connectedAt: 1_000 },
      { kind: "status", online: true, at: 1_050 },
    ]);
    expect(confirmed).toEqual(connected);
  });
});
