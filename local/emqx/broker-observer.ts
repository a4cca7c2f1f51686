/**
 * Watches an aedes broker and reports what EMQX's hooks would see: connections, disconnections with EMQX's
 * reason, published messages (including wills), deliveries and PUBACKs. aedes' events alone are not enough:
 * see the notes on each hook below and aedes-internals.ts.
 */
import type { Socket } from "node:net";
import type { Aedes, AedesPublishPacket, Client, ConnackPacket, ConnectPacket, PublishPacket } from "aedes";
import {
  isWillOf,
  listenForPubrec,
  type Patch,
  patch,
  patchPubacks,
  patchRegisterClient,
  sentDisconnect,
  subscriptionsOf,
  takePacketId,
} from "./aedes-internals.ts";
import { newMessageId, newProcessId } from "./bodies.ts";
import { isSysTopic, topicMatches } from "./topic.ts";
import { type Connection, HTTP_API_CLIENTID, type Message } from "./types.ts";

/** Receives what happened on the broker, in EMQX's terms. */
export interface BrokerSink {
  connected(connection: Connection): void;
  disconnected(connection: Connection, reason: string, disconnectedAt: number): void;
  published(message: Message): void;
  delivered(message: Message, subscriber: Connection, qos: number): void;
  acked(message: Message, subscriber: Connection, qos: number): void;
}

export interface BrokerObserver {
  /** Ties a packet the stand-in is about to publish to its message, so deliveries and acks find its id. */
  remember(packet: { payload: unknown }, message: Message): void;
  /** Closes a connection from the broker's side; its `client.disconnected` event carries `reason`. */
  disconnect(client: Client, reason: string): void;
  stop(): void;
}

// EMQX's default session expiry for MQTT 3.1.1 clients with clean_session = false (mqtt.session_expiry_interval).
const PERSISTENT_SESSION_EXPIRY_S = 7200;
// Socket error codes that mean the peer went away rather than broke the protocol.
const TRANSPORT_ERRORS = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED"]);

/** Starts watching `broker`; `stop()` removes every listener and patch. */
export function observeBroker(broker: Aedes, sink: BrokerSink): BrokerObserver {
  const connections = new WeakMap<Client, Connection>();
  const announced = new WeakSet<Client>();
  const replacedReason = new WeakMap<Client, "takenover" | "discarded">();
  // Closes the broker itself made (a kick through the API, an expired login): EMQX names the reason.
  const serverReason = new WeakMap<Client, string>();
  const keepaliveExpired = new WeakSet<Client>();
  const errors = new WeakMap<Client, Error>();
  // Keyed by the payload Buffer: aedes copies packets on their way to each subscriber and into its stores,
  // but every copy shares the payload object, so it is the one stable handle on "this message".
  const messages = new WeakMap<object, Message>();
  const awaitingAck = new WeakMap<Client, Map<number, Delivery>>();
  let stopped = false;

  const messageOf = (packet: PublishPacket, client: Client | null): Message => {
    const known = isObject(packet.payload) ? messages.get(packet.payload) : undefined;
    return known ?? newMessage(packet, client, client ? connections.get(client) : undefined);
  };

  const onConnackSent = (connack: ConnackPacket, client: Client) => {
    const connection = connections.get(client);
    if (connack.returnCode !== 0 || !connection) return;
    Object.assign(connection, { clientid: client.id, cleanStart: client.clean, connectedAt: Date.now() });
    announced.add(client);
    sink.connected(connection);
  };
  const onClientDisconnect = (client: Client) => {
    const connection = connections.get(client);
    if (!announced.has(client) || !connection) return;
    announced.delete(client);
    sink.disconnected(connection, disconnectReason(client), Date.now());
  };
  const disconnectReason = (client: Client): string => {
    if (sentDisconnect(client)) return "normal";
    const closedByServer = serverReason.get(client);
    if (closedByServer) return closedByServer;
    const replaced = replacedReason.get(client);
    if (replaced) return replaced;
    if (keepaliveExpired.has(client)) return "keepalive_timeout";
    const error = errors.get(client);
    if (error && !TRANSPORT_ERRORS.has((error as NodeJS.ErrnoException).code ?? "")) return "protocol_error";
    return "tcp_closed";
  };
  const onAck = (client: Client, packetId: number) => {
    const awaiting = awaitingAck.get(client)?.get(packetId);
    const subscriber = connections.get(client);
    if (stopped || !awaiting || !subscriber) return;
    awaitingAck.get(client)?.delete(packetId);
    sink.acked(awaiting.message, subscriber, awaiting.qos);
  };
  const onPublish = (packet: AedesPublishPacket, client: Client | null) => {
    if (isSysTopic(packet.topic)) return;
    sink.published(messageOf(packet, client));
  };
  const onKeepaliveTimeout = (client: Client) => keepaliveExpired.add(client);
  const onClientError = (client: Client, error: Error) => errors.set(client, error);

  const patches: Patch[] = [
    // The CONNECT packet (username, keepalive, protocol) is only visible here; the socket's addresses are
    // read now because a closed socket no longer has them.
    patch(broker, "preConnect", (original) => (client, packet, callback) => {
      connections.set(client, newConnection(client, packet));
      listenForPubrec(client, (packetId) => onAck(client, packetId));
      original.call(broker, client, packet, callback);
    }),
    patchRegisterClient(broker, (incoming, existing) => {
      if (existing) replacedReason.set(existing, incoming.clean ? "discarded" : "takenover");
    }),
    // Runs before aedes routes the message, so its id exists when the first delivery happens; 'publish' only
    // fires after routing. Wills pass here too, from `close()`, when the client is already closed.
    patch(broker, "authorizePublish", (original) => (client, packet, callback) => {
      original.call(broker, client, packet, (error) => {
        if (!error && !isSysTopic(packet.topic) && isObject(packet.payload)) {
          messages.set(
            packet.payload,
            newMessage(packet, client, client ? connections.get(client) : undefined),
          );
        }
        callback(error);
      });
    }),
    // aedes numbers an outgoing QoS > 0 PUBLISH later, out of reach; giving it its packet id here (the same
    // id aedes would have taken) is what lets a PUBACK be traced back to the message.
    patch(broker, "authorizeForward", (original) => (client, packet) => {
      const forwarded = original.call(broker, client, packet);
      const subscriber = connections.get(client);
      if (!forwarded || !subscriber || isSysTopic(forwarded.topic)) return forwarded;
      const message = messageOf(forwarded, null);
      const qos = Math.min(forwarded.qos, grantedQos(client, forwarded));
      if (forwarded.qos > 0) {
        forwarded.messageId ||= takePacketId(client);
        ackMap(awaitingAck, client).set(forwarded.messageId, { message, qos });
      }
      sink.delivered(message, subscriber, qos);
      return forwarded;
    }),
    // EMQX runs 'message.acked' on PUBACK (QoS 1) and on PUBREC (QoS 2), not on PUBCOMP
    // (emqx_channel:process_puback/2, process_pubrec/2); PUBRECs are caught in preConnect above.
    patchPubacks(broker, (client, packetId) => onAck(client, packetId)),
  ];
  broker.on("connackSent", onConnackSent);
  broker.on("clientDisconnect", onClientDisconnect);
  broker.on("publish", onPublish);
  broker.on("keepaliveTimeout", onKeepaliveTimeout);
  broker.on("clientError", onClientError);

  return {
    remember(packet, message) {
      if (isObject(packet.payload)) messages.set(packet.payload, message);
    },
    disconnect(client, reason) {
      serverReason.set(client, reason);
      client.close();
    },
    stop() {
      stopped = true;
      for (const p of patches.reverse()) p.restore();
      broker.off("connackSent", onConnackSent);
      broker.off("clientDisconnect", onClientDisconnect);
      broker.off("publish", onPublish);
      broker.off("keepaliveTimeout", onKeepaliveTimeout);
      broker.off("clientError", onClientError);
    },
  };
}

function newConnection(client: Client, packet: ConnectPacket): Connection {
  // WebSocket connections are a Duplex without addresses; the upgrade request's socket has them.
  const socket = ("remoteAddress" in client.conn ? client.conn : client.req?.socket) as Socket | undefined;
  const peerhost = address(socket?.remoteAddress);
  const clean = packet.clean !== false;
  return {
    clientid: packet.clientId,
    username: packet.username,
    peerhost,
    peername: `${peerhost}:${socket?.remotePort ?? 0}`,
    sockname: `${address(socket?.localAddress)}:${socket?.localPort ?? 0}`,
    protoName: packet.protocolId ?? "MQTT",
    protoVer: packet.protocolVersion ?? 4,
    keepalive: packet.keepalive ?? 0,
    cleanStart: clean,
    expiryInterval: clean ? 0 : PERSISTENT_SESSION_EXPIRY_S,
    isBridge: (packet as { bridgeMode?: boolean }).bridgeMode === true,
    connectedAt: 0,
    process: newProcessId(),
  };
}

/** A message as EMQX records it on arrival: wills carry neither peer address (docs/emqx.md §3.5). */
function newMessage(
  packet: PublishPacket,
  client: Client | null,
  connection: Connection | undefined,
): Message {
  const will = client !== null && (client.closed || isWillOf(client, packet));
  return {
    id: newMessageId(),
    fromClientid: client?.id ?? HTTP_API_CLIENTID,
    fromUsername: connection?.username,
    peerhost: will ? undefined : connection?.peerhost,
    peername: will ? undefined : connection?.peername,
    topic: packet.topic,
    qos: packet.qos ?? 0,
    retain: packet.retain === true,
    fromApi: client === null,
    payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload ?? ""),
    properties: undefined,
    receivedAt: Date.now(),
    // A will is published by the closing connection's channel, so it keeps that process.
    process: connection?.process ?? newProcessId(),
  };
}

/** The highest QoS granted to `client` among its subscriptions matching the topic (aedes delivers once). */
function grantedQos(client: Client, packet: PublishPacket): number {
  const granted = subscriptionsOf(client)
    .filter(([filter]) => topicMatches(filter, packet.topic))
    .map(([, qos]) => qos);
  return granted.length > 0 ? Math.max(...granted) : packet.qos;
}

/** A QoS > 0 message handed to a subscriber, with the QoS it was delivered at. */
interface Delivery {
  message: Message;
  qos: number;
}

function ackMap(maps: WeakMap<Client, Map<number, Delivery>>, client: Client): Map<number, Delivery> {
  const existing = maps.get(client);
  if (existing) return existing;
  const map = new Map<number, Delivery>();
  maps.set(client, map);
  return map;
}

function address(host: string | undefined): string {
  if (!host) return "undefined";
  return host.startsWith("::ffff:") ? host.slice("::ffff:".length) : host;
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}
