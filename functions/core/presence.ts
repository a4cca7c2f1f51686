/**
 * Presence as a join of every signal seen so far. Each merge is commutative, associative and idempotent,
 * so any arrival order of the same signals (EMQX reorders them, retries duplicate them) gives one state,
 * and the view derived from that state is the same too. See docs/presence.md.
 */

/** Disconnect reasons that mean "a newer connection replaced this one", never "the device went away". */
export const REPLACED_REASONS: ReadonlySet<string> = new Set(["takenover", "discarded"]);

/** A will published because of a takeover carries (about) the takeover's time; this is how close. */
export const TAKEOVER_WILL_WINDOW_MS = 3_000;

const TAKEOVERS_KEPT = 4;

export type PresenceSignal =
  | { kind: "connected"; connectedAt: number }
  /** EMQX before 5.8.6 sends no `connected_at` with a disconnect; `connectedAt` is then absent. */
  | { kind: "disconnected"; connectedAt?: number; disconnectedAt: number; reason: string }
  /** `{"online": bool}` on the st topic, a last will included; `at` is when the broker received it. */
  | { kind: "status"; online: boolean; at: number };

/** How a session ended: when, and the broker's reason. */
export interface SessionEnd {
  disconnectedAt: number;
  reason: string;
}

export interface PresenceState {
  /** The newest broker session seen (by `connected_at`) and, once seen, how it ended. */
  session?: { connectedAt: number; disconnectedAt?: number; reason?: string };
  /**
   * The newest disconnect that did not say which session it ended (EMQX < 5.8.6). It ends the newest
   * session that began at or before it; a session that began later is not touched.
   */
  unmatchedEnd?: SessionEnd;
  /** Times of the newest `takenover`/`discarded` disconnects, to recognise the wills they cause. */
  takeovers: number[];
  /** The newest st message. */
  status?: { online: boolean; at: number };
  lastSeenAt: number;
  /** The view last put on the events queue, with its version (bookkeeping of the fan-out, not merged). */
  announced?: AnnouncedPresence;
}

export interface PresenceView {
  online: boolean;
  /** Epoch ms of the signal that decided `online`. */
  since: number;
  /** `connected`, `status`, `will`, or the broker's disconnect reason. */
  reason: string;
  connectedAt?: number;
}

/** A view as it was announced: its per-device version (grows with every announcement) and the signal that caused it. */
export interface AnnouncedPresence extends PresenceView {
  version?: number;
  cause?: PresenceSignal;
}

export const EMPTY_PRESENCE: PresenceState = { takeovers: [], lastSeenAt: 0 };

export function mergeSignal(state: PresenceState, signal: PresenceSignal): PresenceState {
  const merged = { ...state, lastSeenAt: Math.max(state.lastSeenAt, signalTime(signal)) };
  if (signal.kind === "status") return { ...merged, status: newerStatus(state.status, signal) };
  if (signal.kind === "connected") {
    return { ...merged, session: mergeSession(state.session, { connectedAt: signal.connectedAt }) };
  }
  if (REPLACED_REASONS.has(signal.reason)) {
    // A replaced session did not end for the device: the replacing connect carries on.
    const takeovers = newest([...state.takeovers, signal.disconnectedAt]);
    if (signal.connectedAt === undefined) return { ...merged, takeovers };
    return {
      ...merged,
      takeovers,
      session: mergeSession(state.session, { connectedAt: signal.connectedAt }),
    };
  }
  const end = { disconnectedAt: signal.disconnectedAt, reason: signal.reason };
  if (signal.connectedAt === undefined) return { ...merged, unmatchedEnd: laterEnd(state.unmatchedEnd, end) };
  return { ...merged, session: mergeSession(state.session, { connectedAt: signal.connectedAt, ...end }) };
}

/**
 * What presence is, decided by the newest trustworthy signal; lifecycle wins a tie. When the st message
 * and the lifecycle agree (an `st` online right after its connect), the lifecycle view stays, so a
 * confirmation is not a change.
 */
export function derivePresence(state: PresenceState): PresenceView | undefined {
  const lifecycle = lifecycleView(state);
  const status = statusView(state);
  if (!status) return lifecycle;
  if (!lifecycle) return status;
  if (status.online === lifecycle.online) return lifecycle;
  return status.since > lifecycle.since ? withConnectedAt(status, lifecycle.connectedAt) : lifecycle;
}

export function sameView(a: PresenceView | undefined, b: PresenceView | undefined): boolean {
  return (
    a?.online === b?.online &&
    a?.since === b?.since &&
    a?.reason === b?.reason &&
    a?.connectedAt === b?.connectedAt
  );
}

function lifecycleView(state: PresenceState): PresenceView | undefined {
  const session = state.session;
  const unmatched = state.unmatchedEnd;
  if (!session)
    return unmatched && { online: false, since: unmatched.disconnectedAt, reason: unmatched.reason };
  const connectedAt = session.connectedAt;
  if (session.disconnectedAt !== undefined) {
    return {
      online: false,
      since: session.disconnectedAt,
      reason: session.reason ?? "disconnected",
      connectedAt,
    };
  }
  if (unmatched && unmatched.disconnectedAt >= connectedAt) {
    return { online: false, since: unmatched.disconnectedAt, reason: unmatched.reason, connectedAt };
  }
  return { online: true, since: connectedAt, reason: "connected", connectedAt };
}

function statusView(state: PresenceState): PresenceView | undefined {
  const status = state.status;
  if (!status) return undefined;
  if (!status.online && isTakeoverWill(state, status.at)) return undefined;
  return { online: status.online, since: status.at, reason: status.online ? "status" : "will" };
}

function withConnectedAt(view: PresenceView, connectedAt: number | undefined): PresenceView {
  return connectedAt === undefined ? view : { ...view, connectedAt };
}

function isTakeoverWill(state: PresenceState, at: number): boolean {
  return state.takeovers.some((t) => Math.abs(t - at) <= TAKEOVER_WILL_WINDOW_MS);
}

type Session = NonNullable<PresenceState["session"]>;

function mergeSession(current: Session | undefined, incoming: Session): Session {
  if (!current || incoming.connectedAt > current.connectedAt) return incoming;
  if (incoming.connectedAt < current.connectedAt) return current;
  const currentEnd = endOf(current);
  const incomingEnd = endOf(incoming);
  if (!incomingEnd) return current;
  if (!currentEnd) return incoming;
  return laterEnd(currentEnd, incomingEnd) === currentEnd ? current : incoming;
}

function endOf(session: Session): SessionEnd | undefined {
  if (session.disconnectedAt === undefined) return undefined;
  return { disconnectedAt: session.disconnectedAt, reason: session.reason ?? "disconnected" };
}

/** The later of two ends; at the same instant the reason decides, so the result does not depend on order. */
function laterEnd(a: SessionEnd | undefined, b: SessionEnd): SessionEnd {
  if (!a) return b;
  if (a.disconnectedAt !== b.disconnectedAt) return a.disconnectedAt > b.disconnectedAt ? a : b;
  return a.reason <= b.reason ? a : b;
}

function newerStatus(current: PresenceState["status"], incoming: { online: boolean; at: number }) {
  if (!current || incoming.at > current.at) return { online: incoming.online, at: incoming.at };
  // Same instant: offline wins, so the result does not depend on which came first.
  if (incoming.at === current.at && !incoming.online) return { online: false, at: incoming.at };
  return current;
}

function newest(times: number[]): number[] {
  return [...new Set(times)].sort((a, b) => b - a).slice(0, TAKEOVERS_KEPT);
}

function signalTime(signal: PresenceSignal): number {
  if (signal.kind === "status") return signal.at;
  return signal.kind === "connected" ? signal.connectedAt : signal.disconnectedAt;
}
