/** What EMQX said when asked to end a client's session. */
export type KickOutcome = "disconnected" | "not_connected";

/**
 * The broker's live sessions and the caches it keeps of authentication and authorization answers, a port
 * (EMQX's management API on AWS). Both calls throw when the broker cannot be reached or refuses the call.
 */
export interface BrokerSessions {
  /** Ends `clientid`'s connection (and kept session), so that it must log in again through the bridge. */
  kick(clientid: string): Promise<KickOutcome>;
  /**
   * Forgets cached allow answers, so that a revoked credential is asked about again at once instead of
   * within the cache's TTL (up to a minute, docs/emqx.md §10.7, §11.4).
   */
  clearCaches(): Promise<void>;
}

const NOT_CONFIGURED =
  "the API has no EMQX management API configured (EMQX_API_URL, EMQX_API_KEY, EMQX_API_SECRET)";

/** For deployments that gave the API no broker credentials: every call fails, and says why. */
export const unconfiguredBrokerSessions: BrokerSessions = {
  kick: () => Promise.reject(new Error(NOT_CONFIGURED)),
  clearCaches: () => Promise.reject(new Error(NOT_CONFIGURED)),
};
