import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Outcome } from "./judge.ts";
import { send } from "./send.ts";
import type { FuzzTargets } from "./targets.ts";

interface QuarantineEntry {
  id: string;
  raw?: string;
}

/** Every quarantine entry of these days, read through the API as an operator would. */
export async function quarantineThroughApi(targets: FuzzTargets, days: string[]): Promise<QuarantineEntry[]> {
  const entries: QuarantineEntry[] = [];
  for (const day of days) {
    let cursor: string | undefined;
    do {
      const path = `/v1/quarantine?day=${day}&limit=100${cursor ? `&cursor=${cursor}` : ""}`;
      const answer = await send({
        method: "GET",
        url: `${targets.apiUrl}${path}`,
        headers: { authorization: `Bearer ${targets.secrets.api}` },
      });
      if (answer.status !== 200)
        throw new Error(`GET ${path} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
      const page = JSON.parse(answer.text) as { items: QuarantineEntry[]; cursor?: string };
      entries.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
  }
  return entries;
}

/**
 * Marks every rejection that must be quarantined and is not: its answer's ids are not all listed, or,
 * when the answer gave no id, no entry holds its body.
 */
export function checkQuarantined(outcomes: Outcome[], entries: QuarantineEntry[]): void {
  const ids = new Set(entries.map((e) => e.id));
  const raws = new Set(entries.map((e) => e.raw));
  for (const outcome of outcomes) {
    if (!outcome.mustQuarantine) continue;
    const missing = outcome.quarantineIds.filter((id) => !ids.has(id));
    if (missing.length) outcome.failures.push(`not in the quarantine: ${missing.join(", ")}`);
    else if (outcome.quarantineIds.length === 0 && !raws.has(outcome.case.body)) {
      outcome.failures.push(`${outcome.status} gave no quarantineId and no entry holds the body`);
    }
  }
}

/** Whether each rejection that had to be quarantined is. */
export const isQuarantined = (outcome: Outcome) =>
  outcome.mustQuarantine && !outcome.failures.some((f) => f.includes("quarantine"));

/** eventIds of punches stored in the table but never sent to the events queue. */
export async function storedNotFannedOut(targets: FuzzTargets): Promise<string[]> {
  const stored = await storedEventIds(targets);
  const sent = await drainEventIds(targets);
  return [...stored].filter((id) => !sent.has(id));
}

async function storedEventIds(targets: FuzzTargets): Promise<Set<string>> {
  const ids = new Set<string>();
  let start: Record<string, never> | undefined;
  do {
    const page = await targets.dynamodb.send(
      new ScanCommand({
        TableName: targets.tableName,
        FilterExpression: "begins_with(sk, :att)",
        ExpressionAttributeValues: { ":att": { S: "ATT#" } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) ids.add(String(unmarshall(item).eventId));
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return ids;
}

async function drainEventIds(targets: FuzzTargets): Promise<Set<string>> {
  const ids = new Set<string>();
  for (;;) {
    const { Messages = [] } = await targets.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: targets.eventsQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) return ids;
    for (const message of Messages)
      ids.add(String((JSON.parse(message.Body ?? "{}") as { eventId?: unknown }).eventId));
    await targets.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: targets.eventsQueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}
