import { randomBytes } from "node:crypto";

/** Bodies exactly as EMQX's HTTP action posts them (docs/emqx.md §3), for handler tests. */
export const emqxId = () => randomBytes(16).toString("hex").toUpperCase();

export function publishBody(topic: string, payload: string, overrides: Record<string, unknown> = {}) {
  const now = Date.now();
  const ruleId = topic.endsWith("/evt") ? "bridge_attendance" : "bridge_status";
  return {
    id: emqxId(),
    clientid: topic.split("/")[3],
    username: "undefined",
    payload,
    peerhost: "127.0.0.1",
    peername: "127.0.0.1:51544",
    topic,
    qos: 1,
    flags: { retain: false, dup: false },
    pub_props: { "User-Property": {} },
    publish_received_at: now,
    client_attrs: {},
    event: "message.publish",
    timestamp: now + 2,
    node: "emqx@127.0.0.1",
    metadata: { rule_id: ruleId },
    ...overrides,
  };
}

export function connectedBody(clientid: string, connectedAt: number) {
  return {
    clientid,
    username: "undefined",
    mountpoint: "undefined",
    peername: "127.0.0.1:51544",
    sockname: "0.0.0.0:1883",
    proto_name: "MQTT",
    proto_ver: 5,
    keepalive: 60,
    clean_start: true,
    receive_maximum: 32,
    expiry_interval: 0,
    is_bridge: false,
    conn_props: { "User-Property": {} },
    connected_at: connectedAt,
    client_attrs: {},
    event: "client.connected",
    timestamp: connectedAt + 2,
    node: "emqx@127.0.0.1",
    metadata: { rule_id: "bridge_lifecycle" },
  };
}

export function disconnectedBody(
  clientid: string,
  connectedAt: number,
  disconnectedAt: number,
  reason: string,
) {
  return {
    reason,
    clientid,
    username: "undefined",
    peername: "127.0.0.1:51544",
    sockname: "0.0.0.0:1883",
    proto_name: "MQTT",
    proto_ver: 4,
    disconn_props: { "User-Property": {} },
    disconnected_at: disconnectedAt,
    connected_at: connectedAt,
    client_attrs: {},
    event: "client.disconnected",
    timestamp: disconnectedAt + 1,
    node: "emqx@127.0.0.1",
    metadata: { rule_id: "bridge_lifecycle" },
  };
}

export function messageAckedBody(sn: string, commandId: string, envelope: Record<string, unknown>) {
  const now = Date.now();
  return {
    id: emqxId(),
    from_clientid: "http_api",
    from_username: "undefined",
    clientid: sn,
    username: "undefined",
    payload: JSON.stringify(envelope),
    peerhost: "127.0.0.1",
    peername: "127.0.0.1:51544",
    topic: `api/mqtt/v1/${sn}/cmd`,
    qos: 1,
    flags: { retain: false },
    pub_props: {
      "User-Property": { command_id: commandId },
      "User-Property-Pairs": [{ key: "command_id", value: commandId }],
    },
    puback_props: { "User-Property": {} },
    publish_received_at: now,
    event: "message.acked",
    timestamp: now + 40,
    node: "emqx@127.0.0.1",
    metadata: { rule_id: "bridge_command_delivered" },
  };
}
