import { type PunchPlan, planPunches, type SimulatedDevice } from "../../local/simulator/device.ts";

/** What was sent: punches (and duplicates) per device, commands per device in the order the API took them. */
export interface Sent {
  punches: number;
  duplicates: number;
  /** Unique punches per device: `user_id|att_time`. */
  unique: Map<string, Set<string>>;
  /** Command ids per device, in the order the API accepted them. */
  commands: Map<string, string[]>;
}

export const newSent = (): Sent => ({ punches: 0, duplicates: 0, unique: new Map(), commands: new Map() });

/** Publishes every device's punches at QoS 1, all devices together, at about `perSecond` in total. */
export async function sendPunches(
  devices: SimulatedDevice[],
  perDevice: number,
  dupRate: number,
  perSecond: number,
  sent: Sent,
  onSent: () => void,
) {
  const gapMs = (devices.length / perSecond) * 1000;
  await Promise.all(
    devices.map(async (device) => {
      const unique = new Set<string>();
      sent.unique.set(device.sn, unique);
      for (const plan of planPunches(device.sn, perDevice, dupRate)) {
        const started = Date.now();
        unique.add(keyOf(plan));
        const published = await device.punch(plan);
        sent.punches += published;
        sent.duplicates += published - 1;
        onSent();
        await pause(gapMs - (Date.now() - started));
      }
    }),
  );
}

const keyOf = (plan: PunchPlan) => {
  const punch = JSON.parse(plan.payload) as { user_id: string; att_time: string };
  return `${punch.user_id}|${punch.att_time}`;
};

/**
 * Sends `perDevice` commands to each device through the API, spread over `spreadMs`. A 503 (DynamoDB or
 * SQS down) is retried with the same id, as the API tells clients to; the create is idempotent on it.
 */
export async function sendCommands(
  api: { url: string; key: string },
  devices: SimulatedDevice[],
  perDevice: number,
  spreadMs: number,
  sent: Sent,
  onSent: () => void,
) {
  await Promise.all(
    devices.map(async (device) => {
      const ids: string[] = [];
      sent.commands.set(device.sn, ids);
      for (let i = 0; i < perDevice; i++) {
        await pause(Math.random() * ((2 * spreadMs) / Math.max(perDevice, 1)));
        const id = `${device.sn}-c${String(i).padStart(4, "0")}`;
        await createCommand(api, device.sn, id);
        ids.push(id);
        onSent();
      }
    }),
  );
}

async function createCommand(api: { url: string; key: string }, sn: string, id: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${api.url}/v1/devices/${sn}/commands`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.key}`, "content-type": "application/json" },
      body: JSON.stringify({ id, op: "ping", data: { n: id }, ttlSeconds: 3_600 }),
    }).catch((error: unknown) => error as Error);
    if (!(response instanceof Error) && response.status === 202) return;
    const text = response instanceof Error ? response.message : `${response.status} ${await response.text()}`;
    if (!(response instanceof Error) && response.status !== 503)
      throw new Error(`command ${id}: the API answered ${text}`);
    if (attempt > 600) throw new Error(`command ${id}: still ${text} after ${attempt} tries`);
    await pause(500);
  }
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
