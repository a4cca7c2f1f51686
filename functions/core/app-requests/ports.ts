import type { ApiKey } from "../api-keys.ts";
import type { Clock } from "../ports.ts";
import type { AppKeyDirectory } from "./identity.ts";
import type { AppRequest, Refusal } from "./request.ts";

/** What goes back to the app: `{requestId, status, body}` on its response topic. */
export interface AppAnswer {
  status: number;
  body: unknown;
}

/** A route's answer, and whether it is final (kept for repeats) or says "try again" (never kept). */
export interface RouteAnswer {
  answer: AppAnswer;
  final: boolean;
}

/** One request's place in the answers store: app key name and request id. */
export interface RequestKey {
  keyName: string;
  requestId: string;
}

/** What the store holds for a request id. */
export type StoredRequest =
  | { state: "running"; leaseUntil: number }
  | { state: "answered"; answer: AppAnswer };

export type Claim = { claimed: true } | { claimed: false; stored: StoredRequest };

/**
 * Answers kept for a while, so that a repeated request id runs its route once. All times in ms.
 */
export interface AnswerStore {
  /**
   * Marks the request running unless it is answered or running within its lease (one conditional write);
   * otherwise returns what is stored. An expired lease or answer is taken over.
   */
  claim(key: RequestKey, times: { now: number; leaseUntil: number; expiresAt: number }): Promise<Claim>;
  /** Keeps the answer until `expiresAt`; `false` when the store cannot hold it (too large). */
  keep(key: RequestKey, answer: AppAnswer, expiresAt: number): Promise<boolean>;
  /** Ends the lease at once, so that a repeat runs the route again. */
  release(key: RequestKey): Promise<void>;
  /** A consistent read of what is stored. */
  find(key: RequestKey): Promise<StoredRequest | undefined>;
}

/** Publishes one answer at QoS 1; throws a `TransientError` when the broker cannot take it now. */
export interface AnswerPublisher {
  publish(topic: string, payload: string): Promise<"published" | "no_subscriber">;
}

export interface AppRequestDeps {
  keys: AppKeyDirectory;
  answers: AnswerStore;
  publisher: AnswerPublisher;
  clock: Clock;
  /** Runs the request through the API with the key's scopes. */
  route(key: ApiKey, request: AppRequest): Promise<RouteAnswer>;
  /** The answer to a request that is refused before any route runs. */
  refused(refusal: Refusal): AppAnswer;
  /** Waits; the in-flight duplicate polls with it. */
  pause(ms: number): Promise<void>;
}

/** One message from the requests rule: who sent it (EMQX's `username`), where, and what. */
export interface AppRequestMessage {
  topic: string;
  username: string;
  payload: string;
}
