/**
 * What `GET /api/v5/clients/{clientid}` knows: sessions of connected clients, and of disconnected clients whose
 * session outlives the connection (clean_session = false), as EMQX keeps them (docs/emqx.md §8.4).
 */
import type { Connection } from "./types.ts";
import { NODE_NAME } from "./types.ts";

interface Session {
  connection: Connection;
  connected: boolean;
  disconnectedAt?: number;
}

/** Sessions by client id, fed by connect and disconnect events. */
export class Sessions {
  readonly #byId = new Map<string, Session>();

  connected(connection: Connection): void {
    this.#byId.set(connection.clientid, { connection, connected: true });
  }

  disconnected(connection: Connection, disconnectedAt: number): void {
    const session = this.#byId.get(connection.clientid);
    // A late event of an older connection must not touch the session of the current one.
    if (!session || session.connection !== connection) return;
    if (connection.cleanStart) {
      this.#byId.delete(connection.clientid);
      return;
    }
    session.connected = false;
    session.disconnectedAt = disconnectedAt;
  }

  /** Drops a session kept after its connection ended (a kick of an offline client); false when none. */
  discard(clientid: string): boolean {
    const session = this.#byId.get(clientid);
    if (!session || session.connected) return false;
    return this.#byId.delete(clientid);
  }

  /** The client object EMQX's API returns, or `undefined` when there is no session. */
  describe(clientid: string, subscriptionsCount: number): Record<string, unknown> | undefined {
    const session = this.#byId.get(clientid);
    if (!session) return undefined;
    const { connection } = session;
    return {
      clientid,
      username: connection.username ?? null,
      connected: session.connected,
      connected_at: rfc3339(connection.connectedAt),
      created_at: rfc3339(connection.connectedAt),
      ...(session.disconnectedAt === undefined ? {} : { disconnected_at: rfc3339(session.disconnectedAt) }),
      clean_start: connection.cleanStart,
      expiry_interval: connection.expiryInterval,
      keepalive: connection.keepalive,
      proto_name: connection.protoName,
      proto_ver: connection.protoVer,
      ip_address: connection.peerhost,
      port: Number(connection.peername.slice(connection.peername.lastIndexOf(":") + 1)),
      is_bridge: connection.isBridge,
      node: NODE_NAME,
      subscriptions_cnt: session.connected ? subscriptionsCount : 0,
      mqueue_len: 0,
      inflight_cnt: 0,
    };
  }
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
