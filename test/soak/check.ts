import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { mapWithConcurrency } from "../../functions/core/concurrency.ts";
import type { SimulatedDevice } from "../../local/simulator/device.ts";
import type { SoakStack } from "../support/soak-stack.ts";
import type { Sent } from "./traffic.ts";

/** The soak's verdict on what reached the store, the queue and the devices. */
export interface Findings {
  stored: number;
  /** Unique punches sent that are not in the table. */
  lost: number;
  /** Table items beyond one per unique punch. */
  storedTwice: number;
  /** Stored punches whose eventId never reached the events queue. */
  notFannedOut: number;
  commandsAcked: number;
  /** Commands that did not end `acked` (failed, expired, dead-lettered, or never final). */
  commandsLost: number;
  /** Devices whose commands arrived in another order than the API accepted them. */
  outOfOrder: number;
  commandStatuses: Record<string, number>;
}

/** Punches of one device in the table: `user_id|att_time` for each item, and their eventIds. */
async function storedPunches(stack: SoakStack, sn: string) {
  const keys: string[] = [];
  const eventIds: string[] = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await stack.direct.dynamodb.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :att)",
        ExpressionAttributeValues: { ":pk": { S: `DEVICE#${sn}` }, ":att": { S: "ATT#" } },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of (page.Items ?? []).map((i) => unmarshall(i))) {
      keys.push(`${item.userId}|${item.attTime}`);
      eventIds.push(String(item.eventId));
    }
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return { keys, eventIds };
}

/** Takes every attendance eventId now on the events queue into `seen` (the suite is its only consumer). */
export async function drainFannedOut(stack: SoakStack, seen: Set<string>): Promise<void> {
  for (;;) {
    const { Messages = [] } = await stack.direct.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.eventsQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) return;
    for (const m of Messages) {
      const body = JSON.parse(m.Body ?? "{}") as { type?: string; eventId?: string };
      if (body.type === "attendance" && body.eventId) seen.add(body.eventId);
    }
    await stack.direct.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: stack.eventsQueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

export async function punchFindings(stack: SoakStack, sent: Sent, fannedOut: Set<string>) {
  const perDevice = await mapWithConcurrency([...sent.unique.entries()], 8, async ([sn, unique]) => {
    const { keys, eventIds } = await storedPunches(stack, sn);
    const storedSet = new Set(keys);
    return {
      stored: keys.length,
      lost: [...unique].filter((key) => !storedSet.has(key)).length,
      storedTwice: keys.length - storedSet.size,
      notFannedOut: eventIds.filter((id) => !fannedOut.has(id)).length,
    };
  });
  const sum = (pick: (f: (typeof perDevice)[number]) => number) =>
    perDevice.reduce((total, f) => total + pick(f), 0);
  return {
    stored: sum((f) => f.stored),
    lost: sum((f) => f.lost),
    storedTwice: sum((f) => f.storedTwice),
    notFannedOut: sum((f) => f.notFannedOut),
  };
}

/** Each command's status through the API, and whether each device got its commands in order. */
export async function commandFindings(
  api: { url: string; key: string },
  devices: SimulatedDevice[],
  sent: Sent,
) {
  const statuses: Record<string, number> = {};
  const all = [...sent.commands.entries()].flatMap(([sn, ids]) => ids.map((id) => ({ sn, id })));
  await mapWithConcurrency(all, 8, async ({ sn, id }) => {
    const status = await commandStatus(api, sn, id);
    statuses[status] = (statuses[status] ?? 0) + 1;
  });
  const outOfOrder = devices.filter((device) => {
    const expected = sent.commands.get(device.sn) ?? [];
    const firstSeen = device.received.filter(
      (id, i) => device.received.indexOf(id) === i && expected.includes(id),
    );
    // Only the order of what arrived: a command that never arrived is counted as lost, not here.
    return firstSeen.join() !== expected.filter((id) => firstSeen.includes(id)).join();
  }).length;
  const acked = statuses.acked ?? 0;
  return { commandStatuses: statuses, commandsAcked: acked, commandsLost: all.length - acked, outOfOrder };
}

export async function commandStatus(
  api: { url: string; key: string },
  sn: string,
  id: string,
): Promise<string> {
  const response = await fetch(`${api.url}/v1/devices/${sn}/commands/${id}`, {
    headers: { authorization: `Bearer ${api.key}` },
  });
  if (response.status !== 200) return `HTTP ${response.status}`;
  const body = (await response.json()) as { command: { status: string; reason?: string } };
  return body.command.status;
}
