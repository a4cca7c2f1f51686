import { describe, expect, it } from "vitest";
import type {
  DevicePublisher,
  PublishItemResult,
  PublishRequest,
} from "../../../functions/core/commands/ports.ts";
import { TransientError } from "../../../functions/core/errors.ts";
import type { FanoutMessage } from "../../../functions/core/fanout.ts";
import { publishFeed } from "../../../functions/core/feed/publish-feed.ts";

/** EMQX's bulk publish as a script: each call answers with the next entry (results per request, or a throw). */
function scriptedEmqx(answer: (requests: PublishRequest[]) => PublishItemResult[] | "rejected" | Error) {
  const calls: PublishRequest[][] = [];
  const publisher: DevicePublisher = {
    async publishBulk(requests) {
      calls.push(requests);
      const result = answer(requests);
      if (result instanceof Error) throw result;
      if (result === "rejected") return { rejected: true, message: "bad" };
      return { rejected: false, results: result };
    },
  };
  return { publisher, calls };
}

const ok = (): PublishItemResult => ({ ok: true, messageId: "m" });
const event = (sn: string, n: number, type: FanoutMessage["type"] = "attendance"): FanoutMessage => ({
  type,
  eventId: `${sn}-${n}`,
  sn,
  at: "2026-12-02T07:00:00.000Z",
  data: { n },
});
const item = (message: FanoutMessage) => ({
  messageId: `q-${message.eventId}`,
  body: JSON.stringify(message),
});

describe("publishing the feed", () => {
  it("publishes a batch in one call, on fleet/v1/{sn}/{type}, body as is, current states retained", async () => {
    const emqx = scriptedEmqx((requests) => requests.map(ok));
    const batch = [
      event("A", 1),
      event("A", 2, "presence"),
      event("B", 1, "command_status"),
      event("B", 2, "shadow"),
    ];
    const report = await publishFeed({ publisher: emqx.publisher }, batch.map(item));
    expect(report).toMatchObject({ failed: [], published: 4, dropped: 0, emqxCalls: 1 });
    expect(emqx.calls[0]?.map((r) => [r.topic, r.retain, r.qos])).toEqual([
      ["fleet/v1/A/attendance", false, 1],
      ["fleet/v1/A/presence", true, 1],
      ["fleet/v1/B/command_status", false, 1],
      ["fleet/v1/B/shadow", true, 1],
    ]);
    expect(emqx.calls[0]?.map((r) => r.payload)).toEqual(batch.map((m) => JSON.stringify(m)));
  });

  it("counts 'no matching subscribers' as done, and retries a device's later messages with its failed one", async () => {
    const emqx = scriptedEmqx(() => [
      { ok: false, reasonCode: 16, message: "no_matching_subscribers" },
      { ok: false, reasonCode: 131, message: "failed_to_dispatch" },
      ok(),
      ok(),
    ]);
    const batch = [event("A", 1), event("B", 1), event("A", 2), event("B", 2)];
    const report = await publishFeed({ publisher: emqx.publisher }, batch.map(item));
    expect(report.failed).toEqual(["q-B-1", "q-B-2"]);
    expect(report.published).toBe(2);
  });

  it("gives the whole batch back when EMQX is down", async () => {
    const emqx = scriptedEmqx(() => new TransientError("EMQX answered 503"));
    const report = await publishFeed({ publisher: emqx.publisher }, [event("A", 1), event("B", 1)].map(item));
    expect(report).toMatchObject({ failed: ["q-A-1", "q-B-1"], published: 0, emqxCalls: 1 });
  });

  it("finds the message EMQX refuses the bulk for and drops only it; drops what the bridge could not have written", async () => {
    const emqx = scriptedEmqx((requests) =>
      requests.some((r) => r.payload.includes('"n":2')) ? "rejected" : requests.map(ok),
    );
    const batch = [
      ...[event("A", 1), event("A", 2), event("A", 3)].map(item),
      { messageId: "junk", body: "{}" },
    ];
    const report = await publishFeed({ publisher: emqx.publisher }, batch);
    expect(report).toMatchObject({ failed: [], published: 2, dropped: 2, emqxCalls: 4 });
  });
});
