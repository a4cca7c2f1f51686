import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import { derivePresence, type PresenceSignal } from "../../functions/core/presence.ts";
import { type PresenceDeps, recordPresence } from "../../functions/core/record-presence.ts";
import { MemoryEventQueue, MemoryPresenceStore } from "../support/memory/index.ts";
import { arrivals } from "../support/presence-history.ts";

const SN = "SN-FANOUT";

/** The consumer rule of docs/presence.md: per device, keep the message with the highest `data.version`. */
function consume(messages: FanoutMessage[]) {
  const latest = new Map<string, FanoutMessage>();
  for (const message of messages) {
    const kept = latest.get(message.sn);
    if (!kept || Number(message.data.version) > Number(kept.data.version)) latest.set(message.sn, message);
  }
  return latest.get(SN)?.data;
}

/** What the API shows for the device (functions/api/views.ts derives it the same way), in fan-out form. */
function apiPresence(store: MemoryPresenceStore) {
  const state = store.items.get(SN)?.state;
  const view = state && derivePresence(state);
  if (!view) return undefined;
  return {
    online: view.online,
    since: new Date(view.since).toISOString(),
    reason: view.reason,
    ...(view.connectedAt ? { connected_at: new Date(view.connectedAt).toISOString() } : {}),
  };
}

/** Delivers a signal as EMQX does: a failed call (503) is retried, here up to 50 times. */
async function deliver(deps: PresenceDeps, signal: PresenceSignal) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await recordPresence(deps, SN, signal);
    } catch (error) {
      if (attempt >= 50) throw error;
    }
  }
}

const withoutVersion = (data: Record<string, unknown> | undefined) => {
  if (!data) return undefined;
  const { version: _version, ...rest } = data;
  return rest;
};

describe("presence fan-out, as a consumer keeping the highest version sees it", () => {
  it("ends at the API's presence for any history, arrival order and duplicates, in any delivery order", async () => {
    await fc.assert(
      fc.asyncProperty(
        arrivals,
        fc.func(fc.nat()),
        fc.func(fc.boolean()),
        async ({ played, delivered }, key, twice) => {
          const store = new MemoryPresenceStore();
          const events = new MemoryEventQueue();
          for (const signal of delivered) await deliver({ presence: store, events }, signal);
          // SQS (standard) reorders and duplicates messages too.
          const copies = [...events.sent, ...events.sent.filter((_, i) => twice(i))];
          const received = copies
            .map((m, i) => ({ m, k: key(i) }))
            .sort((a, b) => a.k - b.k)
            .map(({ m }) => m);
          expect(apiPresence(store)?.online ?? false).toBe(played.online);
          expect(withoutVersion(consume(received))).toEqual(apiPresence(store));
        },
      ),
      { numRuns: 800 },
    );
  });

  it("ends right when sends fail and crash the call between the write and the send (retried as EMQX does)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arrivals,
        fc.array(fc.boolean(), { maxLength: 30 }),
        async ({ delivered }, failures) => {
          const store = new MemoryPresenceStore();
          const events = new MemoryEventQueue();
          for (const [index, signal] of delivered.entries()) {
            events.failNext = failures[index] ? 1 : 0;
            await deliver({ presence: store, events }, signal);
          }
          expect(withoutVersion(consume(events.sent))).toEqual(apiPresence(store));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("ends right when the signals are processed concurrently, interleaved at every store and queue call", async () => {
    await fc.assert(
      fc.asyncProperty(arrivals, fc.scheduler(), async ({ delivered }, s) => {
        const store = new MemoryPresenceStore();
        const events = new MemoryEventQueue();
        const scheduled = {
          presence: {
            read: s.scheduleFunction((sn: string) => store.read(sn)),
            save: s.scheduleFunction((...args: Parameters<MemoryPresenceStore["save"]>) =>
              store.save(...args),
            ),
          },
          events: { send: s.scheduleFunction((messages: FanoutMessage[]) => events.send(messages)) },
        };
        const calls = delivered.map((signal) => deliver(scheduled, signal));
        await s.waitFor(Promise.all(calls));
        expect(withoutVersion(consume(events.sent))).toEqual(apiPresence(store));
      }),
      { numRuns: 500 },
    );
  });

  it("never gives two different messages the same eventId, and a correction a higher version", async () => {
    await fc.assert(
      fc.asyncProperty(arrivals, async ({ delivered }) => {
        const store = new MemoryPresenceStore();
        const events = new MemoryEventQueue();
        for (const signal of delivered) await deliver({ presence: store, events }, signal);
        const byId = new Map<string, string>();
        for (const message of events.sent) {
          const content = JSON.stringify(message);
          expect(byId.get(message.eventId) ?? content).toBe(content);
          byId.set(message.eventId, content);
        }
        const versions = [...byId.values()].map(
          (m) => (JSON.parse(m) as FanoutMessage).data.version as number,
        );
        expect(versions).toEqual([...versions].sort((a, b) => a - b));
        expect(new Set(versions).size).toBe(versions.length);
      }),
      { numRuns: 500 },
    );
  });
});
