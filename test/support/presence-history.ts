import fc from "fast-check";
import { type PresenceSignal, TAKEOVER_WILL_WINDOW_MS } from "../../functions/core/presence.ts";

/** What a device did, in real order. */
export type Happening = "connect" | "disconnect" | "drop" | "takeover" | "st";

export interface Step {
  what: Happening;
  /** Milliseconds since the previous step (the fake clock). */
  gap: number;
  jitter: number;
  /** The device publishes `{"online":true}` on st after connecting. */
  withSt: boolean;
  /** EMQX 5.7.0–5.8.5: `client.disconnected` carries no `connected_at`. */
  legacyDisconnect: boolean;
}

export const step: fc.Arbitrary<Step> = fc.record({
  what: fc.constantFrom<Happening>("connect", "disconnect", "drop", "takeover", "st"),
  // Real reconnects are seconds apart; the will window is 3 s.
  gap: fc.integer({ min: 10_000, max: 600_000 }),
  jitter: fc.integer({ min: 0, max: 10_000 }),
  withSt: fc.boolean(),
  legacyDisconnect: fc.boolean(),
});

/**
 * Plays a device's history on a fake clock and returns the signals EMQX would emit (connects, disconnects
 * with reasons normal/keepalive_timeout/takenover/discarded, wills, st messages) and whether the device
 * is online at the end.
 */
export function play(steps: Step[]): { signals: PresenceSignal[]; online: boolean } {
  const signals: PresenceSignal[] = [];
  let t = 1_700_000_000_000;
  let session: number | undefined;
  const disconnect = (s: Step, connectedAt: number, reason: string): PresenceSignal =>
    s.legacyDisconnect
      ? { kind: "disconnected", disconnectedAt: t, reason }
      : { kind: "disconnected", connectedAt, disconnectedAt: t, reason };
  for (const s of steps) {
    t += s.gap;
    const what = s.what === "connect" && session !== undefined ? "takeover" : s.what;
    if (what === "st") {
      if (session !== undefined) signals.push({ kind: "status", online: true, at: t });
      continue;
    }
    if (what === "connect" || what === "takeover") {
      if (what === "takeover" && session !== undefined) {
        signals.push(disconnect(s, session, s.jitter % 2 ? "takenover" : "discarded"));
        // The old connection's will, published by the takeover.
        signals.push({ kind: "status", online: false, at: t + (s.jitter % TAKEOVER_WILL_WINDOW_MS) });
      }
      session = t;
      signals.push({ kind: "connected", connectedAt: t });
      if (s.withSt) signals.push({ kind: "status", online: true, at: t + 1 });
      continue;
    }
    if (session === undefined) continue;
    if (what === "drop") signals.push({ kind: "status", online: false, at: t });
    signals.push(disconnect(s, session, what === "disconnect" ? "normal" : "keepalive_timeout"));
    session = undefined;
  }
  return { signals, online: session !== undefined };
}

/** A history, the order its signals arrive in (every one once), and the ones delivered a second time. */
export const arrivals = fc
  .array(step, { minLength: 1, maxLength: 8 })
  .chain((steps) => {
    const played = play(steps);
    const n = played.signals.length;
    return fc.record({
      played: fc.constant(played),
      order: fc.shuffledSubarray(played.signals, { minLength: n, maxLength: n }),
      repeats: fc.subarray(played.signals),
    });
  })
  .chain(({ played, order, repeats }) =>
    fc.record({
      played: fc.constant(played),
      // Each repeat is delivered at a random place, not only after the first deliveries.
      delivered: fc.shuffledSubarray([...order, ...repeats], {
        minLength: order.length + repeats.length,
        maxLength: order.length + repeats.length,
      }),
    }),
  );
