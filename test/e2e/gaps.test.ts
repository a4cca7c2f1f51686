import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { SimulatedDevice } from "../../local/simulator/device.ts";
import { DeviceLog } from "../../local/simulator/device-log.ts";
import type { LocalStack } from "../../local/stack.ts";
import { eventually, startTestStack } from "../support/local-stack.ts";
import { uniqueName } from "../support/resources.ts";
import { takeMessages } from "../support/take-messages.ts";

type Json = Record<string, unknown>;

const SECOND = 1_000;
const LOSSY = "GAPS-E2E-1";
const UNNUMBERED = "GAPS-E2E-2";

let stack: LocalStack;
const devices: SimulatedDevice[] = [];
/** The lossy device's punch the EMQX stand-in drops after acking it (once). */
let dropSeq3 = true;

beforeAll(async () => {
  stack = await startTestStack({
    apiKeys: ["e2e-api-key-0123456789abcdef"],
    commandsQueue: uniqueName("commands"),
    // The tracker's times compressed: grace 3 s, a pass every 300 ms.
    gapTracker: { intervalMs: 300, config: { graceMs: 3 * SECOND, backoffMs: 3 * SECOND } },
    // EMQX gives up on a message before the grace period ends, as in production (10 min < 15 min).
    emqxTiming: { requestTtlMs: 2_500, resumeIntervalMs: 200 },
    dropPublish: (topic, payload) => {
      if (!dropSeq3 || !topic.includes(`/${LOSSY}/evt`)) return false;
      if ((JSON.parse(payload.toString()) as Json).seq !== 3) return false;
      dropSeq3 = false;
      return true;
    },
  });
});
afterAll(async () => {
  for (const device of devices) await device.disconnect().catch(() => undefined);
  await stack?.stop();
});

async function online(sn: string) {
  const device = new SimulatedDevice(sn, stack.endpoints.mqtt);
  devices.push(device);
  await device.connect();
  return device;
}

async function api(path: string) {
  const response = await fetch(`${stack.endpoints.api}${path}`, {
    headers: { authorization: `Bearer ${stack.apiKeys[0]}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { items: Json[] };
}

const gapsOf = async (sn: string) => (await api(`/v1/devices/${sn}/gaps`)).items;
/** The gap holding `seq` once it has `status` (a message EMQX gave up on under load is a gap of its own). */
const gapWith = (sn: string, seq: number, status: string) =>
  eventually(
    async () =>
      (await gapsOf(sn)).find(
        (gap) => gap.status === status && Number(gap.from_seq) <= seq && seq <= Number(gap.to_seq),
      ),
    20 * SECOND,
  );

/** Every event taken off this stack's events queue so far (FIFO: taken off, so later ones come). */
const events: Json[] = [];
/** The first `type` event of `sn` about a gap holding `seq`. */
async function eventOf(type: string, sn: string, seq: number): Promise<Json> {
  const sqs = createSqsClient({
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.sqs,
  });
  try {
    return await eventually(async () => {
      events.push(...(await takeMessages<Json>(sqs, stack.eventsQueueUrl)));
      const covers = (data: Json) => Number(data.from_seq) <= seq && seq <= Number(data.to_seq);
      return events.find((e) => e.type === type && e.sn === sn && covers(e.data as Json));
    }, 15 * SECOND);
  } finally {
    sqs.destroy();
  }
}

describe("no punch lost: the gap tracker over the local stack", () => {
  it("finds a punch EMQX dropped, has the device resend it over MQTT, and closes the gap", {
    timeout: 30_000,
  }, async () => {
    const device = await online(LOSSY);
    const log = new DeviceLog(LOSSY, "boot-1");
    // The device answers `resend` from its log, once the test has seen the gap open (it stays open until then).
    let seenOpen: () => void = () => undefined;
    const gapSeenOpen = new Promise<void>((resolve) => {
      seenOpen = resolve;
    });
    const resends: Json[] = [];
    device.handle = async (op, data) => {
      if (op !== "resend") return undefined;
      resends.push(data as Json);
      await gapSeenOpen;
      const { ranges } = data as { ranges: Array<[number, number]>; seq_epoch: string };
      const punches = ranges.flatMap(([from, to]) => log.range(from, to, "boot-1"));
      for (const punch of punches) await device.publish("evt", JSON.stringify(punch));
      return { resent: punches.length };
    };
    for (let n = 0; n < 5; n++) await device.publish("evt", JSON.stringify(log.punch(`U${n}`, n % 2)));
    await device.publish("st", log.heartbeat());

    const open = await gapWith(LOSSY, 3, "open");
    expect(open).toMatchObject({ seq_epoch: "boot-1", from_seq: 3, to_seq: 3, missing: 1 });
    expect(await eventOf("gap_opened", LOSSY, 3)).toMatchObject({ data: { from_seq: 3, to_seq: 3 } });
    seenOpen();

    const closed = await gapWith(LOSSY, 3, "closed");
    expect(closed).toMatchObject({ from_seq: 3, to_seq: 3 });
    expect(await eventOf("gap_closed", LOSSY, 3)).toMatchObject({ data: { from_seq: 3, status: "closed" } });
    expect(resends[0]).toMatchObject({ seq_epoch: "boot-1", ranges: [[3, 3]] });
    expect(device.received.some((id) => id.startsWith("resend-"))).toBe(true);
    const stored = await api(`/v1/devices/${LOSSY}/attendance`);
    expect(stored.items).toHaveLength(5);
    expect(dropSeq3).toBe(false);
  });

  it("keeps a device that does not number its punches working, with no gap", {
    timeout: 20_000,
  }, async () => {
    const device = await online(UNNUMBERED);
    const punch = { user_id: "U9", att_time: new Date().toISOString(), att_state: 0 };
    await device.publish("evt", JSON.stringify(punch));
    await device.publish("st", JSON.stringify({ online: true }));
    await eventually(async () =>
      (await api(`/v1/devices/${UNNUMBERED}/attendance`)).items.length === 1 ? true : undefined,
    );
    // Two whole passes after the punch is stored: whatever the tracker makes of it is in by then.
    await stack.gaps?.runOnce();
    await stack.gaps?.runOnce();
    expect(await gapsOf(UNNUMBERED)).toEqual([]);
    expect(device.received).toEqual([]);
  });
});
