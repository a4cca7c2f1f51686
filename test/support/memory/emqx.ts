import type { BrokerSessions, KickOutcome } from "../../../functions/core/broker-access/index.ts";
import type {
  DevicePublisher,
  PublishItemResult,
  PublishRequest,
} from "../../../functions/core/commands/ports.ts";
import { parseDeviceTopic } from "../../../functions/core/topics.ts";

/** EMQX's reason code when no client is subscribed to the topic (docs/emqx.md). */
export const NO_MATCHING_SUBSCRIBERS = 16;
/** EMQX's reason code when it could not route the message just now. */
export const FAILED_TO_DISPATCH = 131;

/**
 * EMQX's publish API in memory. A device in `online` takes its commands (a message id each); any other
 * gets "no matching subscribers" (16), as EMQX answers for an offline device. `answer` overrides one
 * item's result, `rejectIf` makes EMQX refuse a whole bulk request (400) holding a matching item.
 */
export class MemoryDevicePublisher implements DevicePublisher {
  readonly online = new Set<string>();
  /** Every bulk request made, in order, as sent. */
  readonly calls: PublishRequest[][] = [];
  answer: (request: PublishRequest) => PublishItemResult | undefined = () => undefined;
  rejectIf: (request: PublishRequest) => boolean = () => false;
  private nextId = 1;

  async publishBulk(requests: PublishRequest[]) {
    this.calls.push(structuredClone(requests));
    if (requests.some((request) => this.rejectIf(request))) {
      return { rejected: true as const, message: "a message of the batch is invalid" };
    }
    return { rejected: false as const, results: requests.map((request) => this.resultOf(request)) };
  }

  /** What reached each device, in order: the command ids EMQX took for a subscriber. */
  delivered(sn: string): string[] {
    return this.taken.filter((t) => t.sn === sn).map((t) => t.id);
  }

  private readonly taken: Array<{ sn: string; id: string }> = [];

  private resultOf(request: PublishRequest): PublishItemResult {
    const overridden = this.answer(request);
    if (overridden) return overridden;
    const sn = parseDeviceTopic(request.topic)?.sn ?? "";
    if (!this.online.has(sn)) {
      return { ok: false, reasonCode: NO_MATCHING_SUBSCRIBERS, message: "no_matching_subscribers" };
    }
    this.taken.push({ sn, id: request.properties.user_properties.command_id ?? "" });
    return { ok: true, messageId: `emqx-${this.nextId++}` };
  }
}

/** The broker's sessions in memory: which clients are connected, and how often the caches were cleared. */
export class MemoryBrokerSessions implements BrokerSessions {
  readonly connected = new Set<string>();
  readonly kicked: string[] = [];
  cachesCleared = 0;

  async kick(clientid: string): Promise<KickOutcome> {
    this.kicked.push(clientid);
    return this.connected.delete(clientid) ? "disconnected" : "not_connected";
  }

  async clearCaches(): Promise<void> {
    this.cachesCleared++;
  }
}
