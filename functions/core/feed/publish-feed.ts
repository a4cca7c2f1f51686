import type { DevicePublisher, PublishItemResult } from "../commands/ports.ts";
import { type FeedItem, type FeedMessage, toFeedMessage } from "./feed-message.ts";

export type { FeedItem } from "./feed-message.ts";

/** MQTT reason code 16, "No matching subscribers": nobody listens now; a retained message is still kept. */
const NO_MATCHING_SUBSCRIBERS = 16;

export interface FeedDeps {
  /** EMQX's bulk publish (the same client as the commands publisher). */
  publisher: DevicePublisher;
  /** Told about what makes messages retry or be dropped; `error` is the original error when there is one. */
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export interface FeedReport {
  /** Queue message ids to retry (the partial batch failure). */
  failed: string[];
  published: number;
  /** Messages the bridge could not have written, or that EMQX refuses for what they hold: never retried. */
  dropped: number;
  emqxCalls: number;
}

/**
 * Publishes one batch of the feed queue with one EMQX bulk request (split only when EMQX refuses it as
 * a whole). A message EMQX could not dispatch, and every later message of its device in the batch, is
 * retried, so per device the feed keeps the events' order (a retained state is never overwritten by an
 * older one that is retried later). When EMQX is down the whole batch comes back later: the feed
 * catches up on its own queue and never holds back the users' events queue.
 */
export async function publishFeed(deps: FeedDeps, items: FeedItem[]): Promise<FeedReport> {
  const report: FeedReport = { failed: [], published: 0, dropped: 0, emqxCalls: 0 };
  const messages: FeedMessage[] = [];
  for (const item of items) {
    const message = toFeedMessage(item);
    if (message) messages.push(message);
    else dropUnknown(deps, report, item);
  }
  const results = await publishAll(deps, report, messages);
  settle(report, messages, results);
  return report;
}

/** Only the bridge writes the feed queue; a message it could not have written is dropped, not retried forever. */
function dropUnknown(deps: FeedDeps, report: FeedReport, item: FeedItem): void {
  report.dropped++;
  deps.log?.("dropping a feed-queue message that is not an events message", { messageId: item.messageId });
}

type Result = PublishItemResult | "retry" | "drop";

/** Each message's result; one bulk call unless EMQX refuses the batch, then one call per message. */
async function publishAll(deps: FeedDeps, report: FeedReport, messages: FeedMessage[]): Promise<Result[]> {
  if (messages.length === 0) return [];
  const whole = await publishBulk(deps, report, messages);
  if (whole !== "rejected") return whole;
  // One bad message makes EMQX refuse the whole bulk (docs/emqx.md §8.3): find it one by one.
  const results: Result[] = [];
  for (const message of messages) {
    const single = await publishBulk(deps, report, [message]);
    results.push(single === "rejected" ? "drop" : (single[0] ?? "retry"));
  }
  return results;
}

async function publishBulk(
  deps: FeedDeps,
  report: FeedReport,
  messages: FeedMessage[],
): Promise<Result[] | "rejected"> {
  report.emqxCalls++;
  try {
    const answer = await deps.publisher.publishBulk(messages.map((message) => message.request));
    if (answer.rejected) {
      deps.log?.("EMQX refused a feed bulk publish", { error: answer.message, messages: messages.length });
      return "rejected";
    }
    return messages.map((_, index) => answer.results[index] ?? "retry");
  } catch (error) {
    // Unreachable, 5xx as a whole, a refused key: the whole batch waits on its queue.
    deps.log?.("EMQX did not take the feed batch; it is retried", { error, messages: messages.length });
    return messages.map(() => "retry");
  }
}

/** Done, dropped or retried; after a device's first retry, its later messages are retried too. */
function settle(report: FeedReport, messages: FeedMessage[], results: Result[]): void {
  const held = new Set<string>();
  messages.forEach((message, index) => {
    const result = results[index] ?? "retry";
    if (result === "drop") {
      report.dropped++;
      return;
    }
    if (held.has(message.sn) || !delivered(result)) {
      held.add(message.sn);
      report.failed.push(message.messageId);
      return;
    }
    report.published++;
  });
}

/** Dispatched, or nobody subscribed (nothing to retry: a retained message is stored either way). */
function delivered(result: Exclude<Result, "drop">): boolean {
  if (result === "retry") return false;
  return result.ok || result.reasonCode === NO_MATCHING_SUBSCRIBERS;
}
