/**
 * Authentication and authorization on the aedes broker, as EMQX applies them (docs/emqx.md §10, §11):
 * every CONNECT asks the HTTP authenticator; an allow keeps its ACL and `expire_at` with the connection;
 * every PUBLISH (wills too, at disconnect) and SUBSCRIBE is checked against superuser, that ACL, the
 * `file` sources and `no_match`, in that order.
 */
import type { Socket } from "node:net";
import type { Aedes, AuthenticateError, Client, PublishPacket, Subscription } from "aedes";
import type { AccessConfig } from "./access-config.ts";
import { type AccessRequest, type Action, type CompiledAclRule, firstMatch, type Permission } from "./acl.ts";
import { isWillOf, type Patch, patch, patchRouting } from "./aedes-internals.ts";
import { type AuthnOutcome, HttpAuthenticator, NOT_AUTHORIZED } from "./authn-http.ts";
import type { Log } from "./types.ts";

/** Who a connection logged in as, and what an allowed login left on it. */
interface Grant {
  username: string | undefined;
  superuser: boolean;
  clientAttrs: Record<string, string>;
  acl?: CompiledAclRule[];
  /** Unix seconds. */
  expireAt?: number;
}

export interface AccessControlHooks {
  /** Closes a connection from the broker's side, with the reason its `client.disconnected` event carries. */
  disconnect(client: Client, reason: string): void;
  log: Log;
}

// setTimeout's longest delay; a later expiry is re-armed when this one fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The broker's access control; `stop()` removes its hooks and closes the authenticator's connections. */
export class AccessControl {
  readonly #authenticator: HttpAuthenticator;
  readonly #grants = new WeakMap<Client, Grant>();
  readonly #expiryTimers = new Map<Client, NodeJS.Timeout>();
  /** Denied publishes that still get their PUBACK (deny_action = ignore) but must never be routed. */
  readonly #denied = new WeakSet<object>();
  readonly #patches: Patch[];
  readonly #forget = (client: Client) => {
    clearTimeout(this.#expiryTimers.get(client));
    this.#expiryTimers.delete(client);
  };

  constructor(
    private readonly broker: Aedes,
    private readonly config: AccessConfig,
    private readonly hooks: AccessControlHooks,
    timeoutOverrideMs?: number,
  ) {
    this.#authenticator = new HttpAuthenticator(config.authenticator, timeoutOverrideMs);
    this.#patches = [
      patch(broker, "authenticate", () => (client, username, password, done) => {
        void this.#authenticate(client, username, password).then((error) => done(error, error === null));
      }),
      patch(broker, "authorizePublish", (original) => (client, packet, done) => {
        // aedes publishes stored wills of other broker instances without a client; this broker has none.
        if (!client) return original.call(broker, client, packet, done);
        done(this.#authorizePublish(client, packet));
      }),
      patch(broker, "authorizeSubscribe", () => (client, subscription, done) => {
        // A null subscription is granted 0x80 in the SUBACK; the connection stays.
        done(null, this.#authorizeSubscribe(client, subscription) ? subscription : null);
      }),
      patchRouting(broker, (packet) => this.#denied.delete(packet)),
    ];
    broker.on("clientDisconnect", this.#forget);
  }

  stop(): void {
    for (const p of this.#patches.reverse()) p.restore();
    this.broker.off("clientDisconnect", this.#forget);
    for (const timer of this.#expiryTimers.values()) clearTimeout(timer);
    this.#authenticator.stop();
  }

  /** `null` to let the client in, else the CONNACK refusal. */
  async #authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<AuthenticateError | null> {
    const anonymous = { username, superuser: false, clientAttrs: {} };
    // A disabled authenticator leaves an empty chain: EMQX lets everyone in (docs/emqx.md §10.2).
    if (!this.config.authenticator.enable) return this.#grant(client, anonymous);
    const peerhost = peerhostOf(client);
    const outcome = await this.#authenticator.authenticate({
      clientid: client.id,
      username,
      password,
      peerhost,
    });
    if (outcome.result === "allow") return this.#grant(client, { ...outcome, username });
    return this.#refuse(client, outcome);
  }

  #grant(client: Client, grant: Grant): null {
    this.#grants.set(client, grant);
    if (grant.expireAt !== undefined) this.#armExpiry(client, grant.expireAt);
    return null;
  }

  #refuse(client: Client, outcome: Exclude<AuthnOutcome, { result: "allow" }>): AuthenticateError {
    // The only authenticator ignored: the chain ends without a decision and EMQX refuses the client.
    if (outcome.result === "ignore") {
      this.hooks.log(`emqx: authentication of ${client.id} ignored (${outcome.why}): not authorized`);
    }
    const returnCode = outcome.result === "deny" ? outcome.returnCode : NOT_AUTHORIZED;
    const message = returnCode === NOT_AUTHORIZED ? "not authorized" : "bad username or password";
    return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
  }

  /** EMQX disconnects with "not authorized" when the login's expire_at comes (docs/emqx.md §10.5). */
  #armExpiry(client: Client, expireAt: number): void {
    const delay = Math.max(Math.min(expireAt * 1000 - Date.now(), MAX_TIMER_MS), 0);
    const timer = setTimeout(() => {
      this.#expiryTimers.delete(client);
      if (client.closed) return;
      if (Date.now() < expireAt * 1000) return this.#armExpiry(client, expireAt);
      this.hooks.disconnect(client, "not_authorized");
    }, delay);
    timer.unref();
    this.#expiryTimers.set(client, timer);
  }

  /** `null` to route the message (or to drop it silently after its PUBACK), an error to drop the will or the client. */
  #authorizePublish(client: Client, packet: PublishPacket): Error | null {
    const request = this.#request(client, "publish", packet.topic, packet.qos ?? 0, packet.retain === true);
    if (this.#decide(client, request) === "allow") return null;
    const will = client.closed || isWillOf(client, packet);
    this.hooks.log(`emqx: ${will ? "will" : "publish"} of ${client.id} to ${packet.topic} denied`);
    if (will || this.config.denyAction === "disconnect") return new Error("not authorized");
    this.#denied.add(packet);
    return null;
  }

  #authorizeSubscribe(client: Client, subscription: Subscription): boolean {
    // EMQX checks a shared subscription's filter without its `$share/<group>/` prefix.
    const filter = subscription.topic.replace(/^\$share\/[^/]+\//, "").replace(/^\$queue\//, "");
    const allowed =
      this.#decide(client, this.#request(client, "subscribe", filter, subscription.qos, false)) === "allow";
    if (!allowed) this.hooks.log(`emqx: subscribe of ${client.id} to ${subscription.topic} denied`);
    return allowed;
  }

  #request(client: Client, action: Action, topic: string, qos: number, retain: boolean): AccessRequest {
    const grant = this.#grants.get(client);
    return {
      clientid: client.id,
      username: grant?.username,
      clientAttrs: grant?.clientAttrs ?? {},
      action,
      topic,
      qos,
      retain,
    };
  }

  /** Superuser, then the login's ACL, then the `file` sources, then `no_match` (docs/emqx.md §11.3). */
  #decide(client: Client, request: AccessRequest): Permission {
    const grant = this.#grants.get(client);
    if (grant?.superuser) return "allow";
    if (grant?.acl) {
      // After expire_at the login's ACL denies everything.
      if (grant.expireAt !== undefined && Date.now() / 1000 >= grant.expireAt) return "deny";
      const fromLogin = firstMatch(grant.acl, request);
      if (fromLogin) return fromLogin;
    }
    for (const rules of this.config.sources) {
      const fromSource = firstMatch(rules, request);
      if (fromSource) return fromSource;
    }
    return this.config.noMatch;
  }
}

function peerhostOf(client: Client): string {
  const socket = ("remoteAddress" in client.conn ? client.conn : client.req?.socket) as Socket | undefined;
  const host = socket?.remoteAddress;
  if (!host) return "";
  return host.startsWith("::ffff:") ? host.slice("::ffff:".length) : host;
}
