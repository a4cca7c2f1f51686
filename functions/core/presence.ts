/**
 * Presence as a join of every signal seen so far. Each merge is commutative, associative and idempotent,
 * so any arrival order of the same signals (EMQX reorders them, retries duplicate them) gives one state,
 * and the view derived from that state is the same too.
 */

/** Disconnect reasons that mean "a newer connection replaced this one", never "the device went away". */
export const REPLACED_REASONS: ReadonlySet<string> = new Set(["takenover", "discarded"]);

/** A will published because of a takeover carries (about) the takeover's time; this is how close. */
export const TAKEOVER_WILL_WINDOW_MS = 3_000;

const TAKEOVERS_KEPT = 4;

export type PresenceSignal =
  | { kind: "connected"; connectedAt: number }
  | { kind: "disconnected"; connectedAt: number; disconnectedAt: number; reason: string }
  /** `{"online": bool}` on the st topic, a last will included; `at` is when the broker received it. */
  | { kind: "status"; online: boolean; at: number };

export interface PresenceState {
  /** The newest broker session seen (by `connected_at`) and, once seen, how it ended. */
  session?: { connectedAt: number; disconnectedAt?: number; reason?: string };
  /** Times of the newest `takenover`/`discarded` disconnects, to recognise the wills they cause. */
  takeovers: number[];
  /** The newest st message. */
  status?: { online: boolean; at: number };
  lastSeenAt: number;
  /** The view last put on the events queue. */
  announced?: PresenceView;
}

export interface PresenceView {
  online: boolean;
  /** Epoch ms of the signal that decided `online`. */
  since: number;
  /** `connected`, `status`, or the broker's disconnect reason. */
  reason: string;
  connectedAt?: number;
}

export const EMPTY_PRESENCE: PresenceState = { takeovers: [], lastSeenAt: 0 };

export function mergeSignal(state: PresenceState, signal: PresenceSignal): PresenceState {
  const lastSeenAt = Math.max(state.lastSeenAt, signalTime(signal));
  if (signal.kind === "status") return { ...state, lastSeenAt, status: newerStatus(state.status, signal) };
  if (signal.kind === "connected") {
    return {
      ...state,
      lastSeenAt,
      session: mergeSession(state.session, { connectedAt: signal.connectedAt }),
    };
  }
  if (REPLACED_REASONS.has(signal.reason)) {
    return {
      ...state,
      lastSeenAt,
      session: mergeSession(state.session, { connectedAt: signal.connectedAt }),
      takeovers: newest([...state.takeovers, signal.disconnectedAt]),
    };
  }
  const ended = {
    connectedAt: signal.connectedAt,
    disconnectedAt: signal.disconnectedAt,
    reason: signal.reason,
  };
  return { ...state, lastSeenAt, session: mergeSession(state.session, ended) };
}

/** What presence is, decided by the newest trustworthy signal; lifecycle wins a tie. */
export function derivePresence(state: PresenceState): PresenceView | undefined {
  const lifecycle = lifecycleView(state);
  const status = statusView(state);
  if (!status) return lifecycle;
  if (!lifecycle) return status;
  return status.since > lifecycle.since ? { ...status, connectedAt: lifecycle.connectedAt } : lifecycle;
}

export function sameView(a: PresenceView | undefined, b: PresenceView | undefined): boolean {
  return a?.online === b?.online && a?.since === b?.since && a?.reason === b?.reason;
}

function lifecycleView(state: PresenceState): PresenceView | undefined {
  const session = state.session;
  if (!session) return undefined;
  if (session.disconnectedAt === undefined) {
    return {
      online: true,
      since: session.connectedAt,
      reason: "connected",
      connectedAt: session.connectedAt,
    };
  }
  return {
    online: false,
    since: session.disconnectedAt,
    reason: session.reason ?? "disconnected",
    connectedAt: session.connectedAt,
  };
}

function statusView(state: PresenceState): PresenceView | undefined {
  const status = state.status;
  if (!status) return undefined;
  if (!status.online && isTakeoverWill(state, status.at)) return undefined;
  return { online: status.online, since: status.at, reason: status.online ? "status" : "will" };
}

function isTakeoverWill(state: PresenceState, at: number): boolean {
  return state.takeovers.some((t) => Math.abs(t - at) <= TAKEOVER_WILL_WINDOW_MS);
}

type Session = NonNullable<PresenceState["session"]>;

function mergeSession(current: Session | undefined, incoming: Session): Session {
  if (!current || incoming.connectedAt > current.connectedAt) return incoming;
  if (incoming.connectedAt < current.connectedAt) return current;
  if (incoming.disconnectedAt === undefined) return current;
  if (current.disconnectedAt !== undefined && current.disconnectedAt >= incoming.disconnectedAt)
    return current;
  return incoming;
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
