/**
 * Every place where the stand-in reads or patches something aedes 1.2 does not declare in its types. Kept in
 * one file so an aedes upgrade has one place to check (node_modules/aedes/aedes.js, lib/client.js, lib/handlers).
 */
import type { Aedes, Client } from "aedes";

interface ClientInternals {
  /** Set by the DISCONNECT handler (lib/handlers/index.js); the only trace of a clean disconnect. */
  _disconnected?: boolean;
  /** Next packet id for outgoing QoS > 0 PUBLISH (lib/qos-packet.js). */
  _nextId: number;
  /** The last will, while the connection is up; `close()` publishes it, then sets it to null. */
  will?: unknown;
  /** Live subscriptions by filter (lib/handlers/subscribe.js). */
  subscriptions: Record<string, { qos: number }>;
}

interface Persistence {
  subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string; qos: number }>>;
  outgoingClearMessageId(client: Client, packet: { cmd: string; messageId?: number }): Promise<unknown>;
}

interface BrokerInternals {
  clients: Record<string, Client>;
  persistence: Persistence;
  registerClient(client: Client): void;
}

// Each a narrowing of the public type to what aedes really has (not a reinterpretation of another type).
const client = (c: Client) => c as Client & ClientInternals;
const broker = (b: Aedes) => b as Aedes & BrokerInternals;

/** Whether the client sent DISCONNECT before its connection closed. */
export function sentDisconnect(c: Client): boolean {
  return client(c)._disconnected === true;
}

/** Whether `packet` is the client's will (only meaningful while `close()` publishes it). */
export function isWillOf(c: Client, packet: unknown): boolean {
  return client(c).will === packet;
}

/** Takes the packet id aedes would give the next QoS > 0 PUBLISH to `c`, the way lib/qos-packet.js does. */
export function takePacketId(c: Client): number {
  const internals = client(c);
  const id = internals._nextId;
  internals._nextId = id >= 65535 ? 1 : id + 1;
  return id;
}

/** The client's live subscription filters and their granted QoS. */
export function subscriptionsOf(c: Client): Array<[string, number]> {
  return Object.entries(client(c).subscriptions ?? {}).map(([filter, sub]) => [filter, sub.qos]);
}

/** Connected clients by client id. */
export function connectedClients(b: Aedes): Client[] {
  return Object.values(broker(b).clients);
}

/** Stored QoS > 0 subscriptions of persistent sessions (online or not) matching a topic name. */
export function persistentSubscriptions(
  b: Aedes,
  topic: string,
): Promise<Array<{ clientId: string; qos: number }>> {
  return broker(b).persistence.subscriptionsByTopic(topic);
}

/** A method replaced on an object, and how to put the original back. */
export interface Patch {
  restore(): void;
}

/**
 * Wraps `registerClient`, which aedes calls once a CONNECT is accepted and which closes an existing client with
 * the same id: the only moment a takeover can be told apart from an ordinary close.
 */
export function patchRegisterClient(
  b: Aedes,
  before: (incoming: Client, existing: Client | undefined) => void,
): Patch {
  const internals = broker(b);
  return patch(internals, "registerClient", (original) => (incoming: Client) => {
    const existing = internals.clients[incoming.id];
    before(incoming, existing && existing !== incoming ? existing : undefined);
    original.call(internals, incoming);
  });
}

/**
 * Wraps the persistence call aedes makes for every PUBACK (lib/handlers/puback.js). The 'ack' event that
 * follows has no packet for clean sessions (nothing was stored), so the acknowledged packet id is taken here.
 * PUBCOMP goes through the same call and is ignored: EMQX fires `message.acked` on PUBREC instead.
 */
export function patchPubacks(b: Aedes, onPuback: (client: Client, packetId: number) => void): Patch {
  const persistence = broker(b).persistence;
  return patch(persistence, "outgoingClearMessageId", (original) => async (c: Client, packet) => {
    const result = await original.call(persistence, c, packet);
    if (packet.cmd === "puback" && packet.messageId !== undefined) onPuback(c, packet.messageId);
    return result;
  });
}

/**
 * Calls `onPubrec` for each PUBREC the client sends. aedes emits no event for it and, for clean sessions,
 * touches no persistence (lib/handlers/pubrec.js), so the client's packet parser is the one place to see it.
 * aedes removes the parser's listeners when the client closes.
 */
export function listenForPubrec(c: Client, onPubrec: (packetId: number) => void): void {
  const parser = (c as Client & { _parser?: NodeJS.EventEmitter })._parser;
  parser?.on("packet", (packet: { cmd?: string; messageId?: number }) => {
    if (packet.cmd === "pubrec" && packet.messageId !== undefined) onPubrec(packet.messageId);
  });
}

type Method<T, K extends keyof T> = T[K] extends (...args: infer A) => infer R ? (...args: A) => R : never;

/** Replaces `target[key]` with `make(original)`; `restore()` puts the original back unless someone replaced ours. */
export function patch<T extends object, K extends keyof T>(
  target: T,
  key: K,
  make: (original: Method<T, K>) => Method<T, K>,
): Patch {
  const own = Object.hasOwn(target, key);
  const original = target[key] as Method<T, K>;
  const replacement = make(original);
  target[key] = replacement as T[K];
  return {
    restore() {
      if (target[key] !== replacement) return;
      if (own) target[key] = original as T[K];
      else delete target[key];
    },
  };
}

/**
 * Wraps `publish(packet, client, done)`, which routes a message (aedes' typings only declare the
 * `(packet, done)` form): a packet for which `skip` holds is acknowledged to its sender as usual but
 * reaches no subscriber and fires no 'publish' event, like a publish EMQX denied with `deny_action = ignore`.
 */
export function patchRouting(b: Aedes, skip: (packet: object) => boolean): Patch {
  type Publish = (packet: object, client: unknown, done?: (error?: Error) => void) => void;
  const internals = b as Aedes & { publish: Publish };
  return patch(internals, "publish", (original) => (packet, client, done) => {
    if (typeof client !== "function" && skip(packet)) return done?.();
    return original.call(internals, packet, client, done);
  });
}
