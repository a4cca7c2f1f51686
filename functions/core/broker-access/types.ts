import type { Scope } from "../api-keys.ts";

/** What EMQX's HTTP authenticator sends for one CONNECT (every value a string; absent ones are ""). */
export interface BrokerLogin {
  clientid: string;
  username: string;
  password: string;
}

/** One rule of the ACL that rides on an `allow` answer; EMQX checks them top-down, first match wins. */
export interface AclRule {
  permission: "allow" | "deny";
  action: "publish" | "subscribe" | "all";
  topics: string[];
  /** Publish only: whether the message may be retained. Absent: both. */
  retain?: boolean;
}

/** Who a login turned out to be. */
export type BrokerIdentity =
  | { kind: "device"; sn: string; generation: number }
  | { kind: "app"; keyId: string; scopes: Scope[] };

/**
 * The answer to one login. `deny` always carries why, for the bridge's own log; EMQX only sees "deny".
 * `unavailable` means the registry could not be read: the edge answers so that EMQX refuses the client.
 */
export type BrokerDecision =
  | { result: "allow"; identity: BrokerIdentity; expireAt: number; acl: AclRule[] }
  | { result: "deny"; reason: DenyReason };

export type DenyReason =
  | "malformed_login"
  | "clientid_mismatch"
  | "bad_credentials"
  | "device_disabled"
  | "device_not_registered"
  | "stale_credentials"
  | "key_not_usable_on_broker";

/** A session's longest life unless configured: a day, well beyond EMQX's caches (docs/emqx.md §10.7). */
export const DEFAULT_SESSION_LIFETIME_S = 24 * 60 * 60;
