import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import { countingCommandStore } from "../../functions/adapters/counting-command-store.ts";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import type { BridgeMetrics } from "../../functions/core/metrics.ts";
import { publishBody } from "../support/emqx-bodies.ts";
import { startIngest } from "../support/ingest-server.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";

/** A BridgeMetrics that remembers what was counted and flushed, to check the apps count the right things. */
function recordingMetrics() {
  const pending: Array<{ name: string; value: number; dimensions?: Record<string, string> }> = [];
  const flushed: typeof pending = [];
  const metrics: BridgeMetrics = {
    count: (name, value = 1, dimensions) =>
      void pending.push({ name, value, ...(dimensions ? { dimensions } : {}) }),
    flush: () => void flushed.push(...pending.splice(0)),
  };
  const total = (name: string, dimension?: [string, string]) =>
    flushed
      .filter((m) => m.name === name && (!dimension || m.dimensions?.[dimension[0]] === dimension[1]))
      .reduce((sum, m) => sum + m.value, 0);
  return { metrics, total, pending, flushed };
}

let env: TestResources;
beforeAll(async () => {
  env = await createTestResources();
});
afterAll(() => env.destroy());

const punch = (sn: string, userId: string) =>
  publishBody(
    `api/mqtt/v1/${sn}/evt`,
    JSON.stringify({ user_id: userId, att_time: "2026-11-22 08:00:00", att_state: 0 }),
  );

describe("business metrics", () => {
  it("counts duplicates, quarantined input and 503s, flushed per request, and nothing for a stored punch", async () => {
    const { metrics, total, pending, flushed } = recordingMetrics();
    const ingest = await startIngest(env.deps, { metrics });
    const down = await startIngest(
      createAwsDeps({ ...env.config, DYNAMODB_ENDPOINT: "http://127.0.0.1:9" }),
      {
        metrics,
      },
    );
    try {
      const body = punch("SN-M1", "1");
      expect((await ingest.post(body)).status).toBe(200);
      // A stored punch is on the events topic's own count: no metrics line (log ingestion) for it.
      expect(flushed).toEqual([]);
      await ingest.post(body);
      await ingest.post(publishBody("api/mqtt/v1/SN-M1/evt", "not json"));
      expect((await down.post(punch("SN-M1", "2"))).status).toBe(503);
      expect(total("Duplicates")).toBe(1);
      expect(total("Quarantined")).toBe(1);
      expect(total("Unavailable503")).toBe(1);
      expect(pending).toHaveLength(0);
    } finally {
      await ingest.stop();
      await down.stop();
      await env.drainEvents();
    }
  });

  it("counts every status a command reaches, through the store every function uses", async () => {
    const { metrics, total } = recordingMetrics();
    const commands = countingCommandStore(env.deps.commands, metrics);
    const deps = { ...env.deps, commands };
    await createCommand(deps, "SN-M2", { id: "m1", op: "ping" });
    await createCommand(deps, "SN-M2", { id: "m1", op: "ping" }); // a replay is not a new command
    await commands.transition("SN-M2", "m1", "pending", new Date().toISOString());
    await commands.transition("SN-M2", "m1", "pending", new Date().toISOString()); // refused: not forward
    metrics.flush();
    expect(total("CommandsByStatus", ["status", "queued"])).toBe(1);
    expect(total("CommandsByStatus", ["status", "pending"])).toBe(1);
    await env.drainEvents();
  });
});
