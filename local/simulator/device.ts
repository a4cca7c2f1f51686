import mqtt, { type MqttClient } from "mqtt";
import { deviceTopic } from "../../functions/core/topics.ts";
import { localDeviceToken } from "./credentials.ts";

/** Operations a simulated terminal knows; anything else is answered `ok: false`. */
export const KNOWN_OPS = new Set(["sync_user", "delete_user", "reboot", "ping", "set_time"]);

export interface PunchPlan {
  payload: string;
  /** Published again as a device would after a lost PUBACK: a new PUBLISH, so EMQX gives it a new id. */
  duplicated: boolean;
}

/**
 * One simulated attendance terminal: a real MQTT client with a last will, speaking the device contract. It
 * logs in as devices do (client id = username = serial number, password = its device token); the token
 * defaults to the one derived from the fleet secret of the local stack at `mqttUrl`, when in this process.
 */
export class SimulatedDevice {
  private client?: MqttClient;

  constructor(
    readonly sn: string,
    private readonly mqttUrl: string,
    private readonly token: string | undefined = localDeviceToken(mqttUrl, sn),
  ) {}

  async connect(): Promise<void> {
    this.client = await mqtt.connectAsync(this.mqttUrl, {
      clientId: this.sn,
      ...(this.token === undefined ? {} : { username: this.sn, password: this.token }),
      protocolVersion: 4, // aedes speaks MQTT 3.1.1 only
      clean: true,
      reconnectPeriod: 0,
      will: {
        topic: deviceTopic(this.sn, "st"),
        payload: Buffer.from('{"online":false}'),
        qos: 1,
        retain: false,
      },
    });
    // Subscribe before saying "online": the bridge re-sends pending commands when it sees the device online.
    // An answer that cannot go out (the client is closing) is lost like any unanswered command: the
    // bridge's command path retries or expires it; it must not crash the simulator.
    this.client.on("message", (topic, payload) => void this.onCommand(topic, payload).catch(() => undefined));
    await this.client.subscribeAsync(deviceTopic(this.sn, "cmd"), { qos: 1 });
    await this.client.publishAsync(deviceTopic(this.sn, "st"), '{"online":true}', { qos: 1 });
  }

  /** Ops this device answers `ok: false` although it knows them (`npm run sim -- --fail-percent`). */
  refuses: (op: string) => boolean = () => false;

  /** Commands this device has received, in order (ids). */
  readonly received: string[] = [];

  private async onCommand(topic: string, payload: Buffer): Promise<void> {
    if (topic !== deviceTopic(this.sn, "cmd")) return;
    let envelope: { id?: unknown; op?: unknown; data?: unknown };
    try {
      envelope = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (typeof envelope.id !== "string" || typeof envelope.op !== "string") return;
    this.received.push(envelope.id);
    const handled = await this.handle?.(envelope.op, envelope.data);
    if (handled) {
      const answer = { id: envelope.id, ok: true, result: handled };
      await this.client?.publishAsync(deviceTopic(this.sn, "ack"), JSON.stringify(answer), { qos: 1 });
      return;
    }
    // Unknown ops are not executed (the device contract), but the answer says so.
    const reply =
      KNOWN_OPS.has(envelope.op) && !this.refuses(envelope.op)
        ? { id: envelope.id, ok: true, result: { op: envelope.op, at: new Date().toISOString() } }
        : { id: envelope.id, ok: false, error: `unknown op '${envelope.op}'` };
    await this.client?.publishAsync(deviceTopic(this.sn, "ack"), JSON.stringify(reply), { qos: 1 });
  }

  /** Publishes at QoS 1 and resolves on the broker's PUBACK. */
  async punch(plan: PunchPlan): Promise<number> {
    const client = this.requireClient();
    await client.publishAsync(deviceTopic(this.sn, "evt"), plan.payload, { qos: 1 });
    if (!plan.duplicated) return 1;
    await client.publishAsync(deviceTopic(this.sn, "evt"), plan.payload, { qos: 1 });
    return 2;
  }

  /** Ops a device log answers (local/simulator/device-log.ts: resend, upload_logs, set_time); undefined: not handled here. */
  handle?: (op: string, data: unknown) => Promise<Record<string, unknown> | undefined>;

  /** Publishes on one of its own topics at QoS 1 (a heartbeat, a resent backlog). */
  async publish(channel: "evt" | "st", payload: string): Promise<void> {
    await this.requireClient().publishAsync(deviceTopic(this.sn, channel), payload, { qos: 1 });
  }

  /** A clean DISCONNECT: the broker drops the will. */
  async disconnect(): Promise<void> {
    await this.client?.endAsync();
  }

  private requireClient(): MqttClient {
    if (!this.client) throw new Error(`device ${this.sn} is not connected`);
    return this.client;
  }
}

/** The punches of one device: distinct (user, time) pairs, some marked for a duplicate send. */
export function planPunches(sn: string, count: number, dupRate: number, random = Math.random): PunchPlan[] {
  const start = Date.UTC(2026, 10, 22, 0, 0, 0);
  return Array.from({ length: count }, (_, i) => ({
    payload: JSON.stringify({
      user_id: String(1000 + (i % 97)),
      att_time: new Date(start + i * 61_000).toISOString().replace(".000Z", "+00:00"),
      att_state: i % 2,
      device: sn,
    }),
    duplicated: random() < dupRate,
  }));
}
