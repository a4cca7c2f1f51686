import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createSqsClient } from "../../functions/adapters/sqs/client.ts";
import { SimulatedDevice } from "../../local/simulator/device.ts";
import type { LocalStack } from "../../local/stack.ts";
import { eventually, startTestStack } from "../support/local-stack.ts";
import { uniqueName } from "../support/resources.ts";

let stack: LocalStack;
const devices: SimulatedDevice[] = [];

beforeAll(async () => {
  // Its own commands queue (and DLQ): another file's stack must not consume this one's messages.
  stack = await startTestStack({
    apiKeys: ["e2e-api-key-0123456789abcdef"],
    commandsQueue: uniqueName("commands"),
  });
});
afterAll(async () => {
  for (const device of devices) await device.disconnect().catch(() => undefined);
  await stack.stop();
});

async function online(sn: string) {
  const device = new SimulatedDevice(sn, stack.endpoints.mqtt);
  devices.push(device);
  await device.connect();
  return device;
}

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.endpoints.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.apiKeys[0]}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as { command: Record<string, unknown> } };
}

const statusOf = async (sn: string, id: string) =>
  (await api("GET", `/v1/devices/${sn}/commands/${id}`)).body.command;
const reaches = (sn: string, id: string, status: string, timeoutMs = 10_000) =>
  eventually(async () => {
    const command = await statusOf(sn, id);
    return command?.status === status ? command : undefined;
  }, timeoutMs);

describe("commands: API → FIFO queue → publisher → EMQX → device → ack", () => {
  it("reaches an online device and ends acked with the device's result", async () => {
    const device = await online("CMD-1");
    const created = await api("POST", "/v1/devices/CMD-1/commands", {
      id: "k1",
      op: "sync_user",
      data: { u: 1 },
    });
    expect(created.status).toBe(202);
    const acked = await reaches("CMD-1", "k1", "acked");
    expect(acked.result).toMatchObject({ op: "sync_user" });
    expect(device.received).toEqual(["k1"]);
  });

  it("keeps a command for an offline device pending, then delivers it when the device connects", async () => {
    await api("POST", "/v1/devices/CMD-2/commands", { id: "k2", op: "reboot", ttlSeconds: 300 });
    await reaches("CMD-2", "k2", "pending");
    const device = await online("CMD-2");
    await reaches("CMD-2", "k2", "acked");
    expect(device.received).toEqual(["k2"]);
  });

  it("expires a command whose TTL passes while the device is offline, and never publishes it", async () => {
    const created = await api("POST", "/v1/devices/CMD-3/commands", {
      id: "k3",
      op: "reboot",
      ttlSeconds: 1,
    });
    await reaches("CMD-3", "k3", "pending");
    const expiresAt = Date.parse(String(created.body.command.expiresAt));
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(expiresAt), { timeout: 5_000, interval: 50 });
    const device = await online("CMD-3");
    await reaches("CMD-3", "k3", "expired");
    // A later command of the device is delivered after anything published before it (one FIFO group):
    // once it is in, k3 would have arrived already had it been published.
    await api("POST", "/v1/devices/CMD-3/commands", { id: "k3-after", op: "ping" });
    await reaches("CMD-3", "k3-after", "acked");
    expect(device.received).toEqual(["k3-after"]);
  });

  it("reports an unknown op as failed with the device's answer", async () => {
    await online("CMD-4");
    await api("POST", "/v1/devices/CMD-4/commands", { id: "k4", op: "frobnicate" });
    const failed = await reaches("CMD-4", "k4", "failed");
    expect(failed.reason).toContain("unknown op");
  });

  it("keeps per-device order across a burst", async () => {
    const device = await online("CMD-5");
    const ids = Array.from({ length: 12 }, (_, i) => `o${String(i).padStart(2, "0")}`);
    for (const id of ids) await api("POST", "/v1/devices/CMD-5/commands", { id, op: "ping" });
    await reaches("CMD-5", ids.at(-1) as string, "acked");
    expect(device.received).toEqual(ids);
  });

  it("never marks a command sent while EMQX answers 503, and delivers it once EMQX is back", async () => {
    const device = await online("CMD-6");
    stack.emqx.setPublishFailure(503);
    const callsBefore = stack.publisherStats.emqxCalls;
    await api("POST", "/v1/devices/CMD-6/commands", { id: "k6", op: "ping" });
    // The publisher tried, was refused, and tried again: the command must still be queued.
    await vi.waitFor(() => expect(stack.publisherStats.emqxCalls).toBeGreaterThanOrEqual(callsBefore + 2), {
      timeout: 20_000,
      interval: 50,
    });
    expect((await statusOf("CMD-6", "k6")).status).toBe("queued");
    stack.emqx.setPublishFailure(null);
    await reaches("CMD-6", "k6", "acked", 20_000);
    expect(device.received).toEqual(["k6"]);
  });

  it("treats the same command id on two devices as two commands, both delivered", async () => {
    const [a, b] = [await online("CMD-7"), await online("CMD-8")];
    await api("POST", "/v1/devices/CMD-7/commands", { id: "same", op: "ping" });
    await api("POST", "/v1/devices/CMD-8/commands", { id: "same", op: "ping" });
    await reaches("CMD-7", "same", "acked");
    await reaches("CMD-8", "same", "acked");
    expect([a.received, b.received]).toEqual([["same"], ["same"]]);
  });

  it("marks a waiting command failed, with the reason, once its queue message reaches the DLQ", async () => {
    await api("POST", "/v1/devices/CMD-9/commands", { id: "k9", op: "reboot" });
    await reaches("CMD-9", "k9", "pending");
    // What SQS does after the receive budget: the message moves to the DLQ as it was.
    const sqs = createSqsClient({ endpoint: stack.endpoints.sqs, region: "us-east-1" });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.commandsDlqUrl,
        MessageBody: JSON.stringify({ sn: "CMD-9", id: "k9" }),
        MessageGroupId: "CMD-9",
        MessageDeduplicationId: "CMD-9/k9",
      }),
    );
    sqs.destroy();
    const failed = await reaches("CMD-9", "k9", "failed");
    expect(failed.reason).toMatch(/^dead-lettered: /);
  });
});
