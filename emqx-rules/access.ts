/**
 * Who may connect and what they may do: EMQX's HTTP authenticator pointed at the bridge, and the
 * authorization settings and sources behind the ACL that rides on the bridge's login answer.
 * Single source of truth for `generated/access.hocon`, `generated/authentication.json`,
 * `generated/authorization-*.json` and `import-access.ts`. Facts: docs/emqx.md §10-§12.
 */
import { aclFile, DENY_ALL_RULES, placeholder } from "./access-acl.ts";
import type { Duration } from "./definitions.ts";
import { INGEST_TOKEN_PLACEHOLDER, INGEST_URL_PLACEHOLDER } from "./render.ts";

/** Path on the ingest front door that answers EMQX's authentication calls. */
export const AUTHN_PATH = "/emqx/authn";

/** `<mechanism>:<backend>`: EMQX allows one authenticator per id in a chain. */
export const AUTHENTICATOR_ID = "password_based:http";

/** One entry of the HOCON `authentication` array / body of `POST /api/v5/authentication`. */
export interface HttpAuthenticator {
  mechanism: "password_based";
  backend: "http";
  enable: boolean;
  method: "post";
  url: string;
  headers: Record<string, string>;
  /** EMQX templates; every value arrives as a JSON string, an absent one as "". */
  body: Record<string, string>;
  request_timeout: Duration;
  connect_timeout: Duration;
  pool_size: number;
  enable_pipelining: number;
  ssl: { enable: boolean; verify: "verify_peer" | "verify_none"; cacertfile: string };
}

/** Body of `PUT /api/v5/authorization/settings`; EMQX requires all three keys. */
export interface AuthorizationSettings {
  no_match: "allow" | "deny";
  deny_action: "ignore" | "disconnect";
  cache: { enable: boolean; max_size: number; ttl: Duration };
}

/** A `file` source with its rules inline (EMQX writes them to `data/authz/acl.conf`). */
export interface FileSource {
  type: "file";
  enable: boolean;
  rules: string;
}

/** The whole access configuration, applied authenticator first, then authorization. */
export interface Access {
  authenticator: HttpAuthenticator;
  authorization: AuthorizationSettings & { sources: FileSource[] };
}

export const AUTHENTICATOR: HttpAuthenticator = {
  mechanism: "password_based",
  backend: "http",
  enable: true,
  // POST: with GET the password would end up in URLs and access logs (docs/emqx.md §10.1).
  method: "post",
  url: `${INGEST_URL_PLACEHOLDER}${AUTHN_PATH}`,
  // The same bearer token as the rule events; EMQX stores header values as secrets. content-type is
  // repeated because whether custom headers replace EMQX's defaults is not known.
  headers: { "content-type": "application/json", authorization: `Bearer ${INGEST_TOKEN_PLACEHOLDER}` },
  body: {
    clientid: placeholder("clientid"),
    username: placeholder("username"),
    password: placeholder("password"),
    peerhost: placeholder("peerhost"),
  },
  // EMQX's default and the bound a device waits for its CONNACK (~5.5 s); a timeout is "ignore", which
  // refuses the device when this is the only authenticator (docs/emqx.md §10.6).
  request_timeout: "5s",
  connect_timeout: "5s",
  // With pipelining off this is the number of logins in flight per node: 64 / ~50 ms warm = ~1,300
  // logins/s per node, and ~6,400 queued logins still answered within request_timeout, so a reconnect
  // storm after a broker restart drains in seconds instead of timing devices out in waves.
  pool_size: 64,
  // HTTP/1.1 only; a pipelined login would wait behind a cold Lambda start on the same connection.
  enable_pipelining: 1,
  // As for the rule connector: only used for https:// URLs, and verify_none would hand the token to
  // anyone in the path.
  ssl: { enable: true, verify: "verify_peer", cacertfile: "/etc/ssl/certs/ca-certificates.crt" },
};

export const AUTHORIZATION_SETTINGS: AuthorizationSettings = {
  // 5.x defaults to allow: a topic no source decides would be open (docs/emqx.md §11.3).
  no_match: "deny",
  // A denied QoS 1 publish gets PUBACK 0x87 and the client stays connected; `disconnect` is stricter
  // but turns one bad topic in a device's firmware into a reconnect loop through the authenticator.
  deny_action: "ignore",
  // The cache keeps the final decision per (action, topic); a short TTL bounds how long an acl.conf
  // change takes to reach connected clients. The login ACL itself only changes on reconnect.
  cache: { enable: true, max_size: 32, ttl: "10s" },
};

/** `file` source with `{deny, all}.`: the login answer's ACL (always checked first) decides, nothing else. */
export const DENY_ALL_FILE_SOURCE: FileSource = {
  type: "file",
  enable: true,
  rules: aclFile(DENY_ALL_RULES),
};

export const ACCESS: Access = {
  authenticator: AUTHENTICATOR,
  authorization: { ...AUTHORIZATION_SETTINGS, sources: [DENY_ALL_FILE_SOURCE] },
};
