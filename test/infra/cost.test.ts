/**
 * `npm run cost`: the price per million follows the synthesized template and the counted requests,
 * not prose. Fixed counts in, the template of this repository, list prices from bench/prices.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { computeCost, costMarkdown, indexesOfAnItem, snsCost } from "../../bench/cost.ts";
import type { RequestCount } from "../../bench/lib/aws-counter.ts";
import { LAMBDA_NODE_LABEL } from "../../bench/lib/lambda-node.ts";
import type { Results } from "../../bench/lib/report.ts";
import { readTemplate, type TemplateFacts } from "../../bench/lib/template.ts";
import { PRICES } from "../../bench/prices.ts";

const count = (reads: number, writes: number, sends: number, items = { read: reads, written: writes }) =>
  ({
    reads,
    writes,
    sends,
    other: 0,
    itemsRead: items.read,
    itemsWritten: items.written,
    calls: [],
  }) as RequestCount;

const results = (counts: Record<string, RequestCount & { emqxCalls?: number }>): Results => ({
  startedAt: "2026-01-01T00:00:00.000Z",
  seconds: 1,
  machine: { node: "v20", cpus: 2, platform: "linux", loadAverage: [] },
  areas: [
    { id: "requests", title: "", rows: [], data: { counts } },
    { id: "ingest", title: "", rows: [], data: { newPunch: { cpuMs: 2 }, duplicate: { cpuMs: 1 } } },
    {
      id: "cold-start",
      title: "",
      rows: [],
      data: { medianInitMs: { [LAMBDA_NODE_LABEL]: { ingest: 100, api: 120, publisher: 100 } } },
    },
  ],
});

const measured = {
  "new punch": count(0, 1, 1),
  "duplicate punch": count(0, 1, 0),
  "presence: connect": count(1, 1, 1),
  "command create": count(0, 2, 1),
  "publisher batch of 10 commands": { ...count(1, 10, 1, { read: 10, written: 10 }), emqxCalls: 1 },
};

let facts: TemplateFacts;
beforeAll(() => {
  facts = readTemplate();
}, 120_000);

describe("npm run cost", () => {
  it("reads the settings that set the price from the template", () => {
    expect(facts.functions.ingest).toMatchObject({ arm: true, logFormat: "JSON", systemLogLevel: "WARN" });
    expect(facts.gsiProjections.length).toBeGreaterThan(0);
  });

  it("prices a stored item once in the table and once per index, a failed conditional put once", () => {
    const area = computeCost(results(measured), facts);
    const data = area.data as Record<string, { dynamodb: number; sqs: number }>;
    // A punch lands in gsi1 (a user's punches) only: byJob is sparse, for job executions.
    expect(facts.gsiProjections.length).toBeGreaterThan(1);
    expect(indexesOfAnItem(facts)).toBe(1);
    const perIndex = 1 + indexesOfAnItem(facts);
    expect(data.newPunch?.dynamodb).toBeCloseTo(perIndex * PRICES.dynamodb.perMillionWru, 6);
    expect(data.duplicate?.dynamodb).toBeCloseTo(PRICES.dynamodb.perMillionWru, 6);
    expect(data.duplicate?.sqs).toBe(0);
    // The one events send is a PublishBatch to the SNS FIFO topic, delivered to each subscribed queue.
    expect(facts.eventsTopicFifo).toBe(true);
    expect(data.newPunch?.sqs).toBe(0);
    expect((data.newPunch as { sns?: number })?.sns).toBeCloseTo(snsCost(1, 1, facts.eventsSubscriptions), 6);
    expect(facts.eventsSubscriptions).toBe(3);
  });

  it("costs more per punch when the ingest writes more, and says whether the goal is met", () => {
    const cheap = computeCost(results(measured), facts);
    const dear = computeCost(results({ ...measured, "new punch": count(0, 2, 1) }), facts);
    const total = (area: typeof cheap) => (area.data as { newPunch: { total: number } }).newPunch.total;
    expect(total(dear)).toBeGreaterThan(total(cheap));
    expect(cheap.rows[0]?.met).toBe(
      total(cheap) <= 2 && total(cheap) < (cheap.data as { iotCore: number }).iotCore,
    );
    expect(costMarkdown(cheap)).toMatch(/^<!-- cost:begin[\s\S]*\| new punch \|[\s\S]*<!-- cost:end -->$/);
  });
});
