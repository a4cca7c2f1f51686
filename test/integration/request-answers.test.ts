import { beforeAll, describe, expect, it } from "vitest";
import { DynamoDbAnswerStore } from "../../functions/adapters/dynamodb/request-answers.ts";
import { createTestResources } from "../support/resources.ts";

/** The API over MQTT's claims and kept answers on DynamoDB Local: the conditions the core relies on. */
describe("the request answers store on DynamoDB Local", () => {
  let store: DynamoDbAnswerStore;
  beforeAll(async () => {
    const resources = await createTestResources();
    store = new DynamoDbAnswerStore(resources.dynamodb, resources.tableName);
  });
  const times = (now: number) => ({ now, leaseUntil: now + 30_000, expiresAt: now + 600_000 });

  it("claims an id once; a second claim gets the running one, then the kept answer", async () => {
    const key = { keyName: "ops", requestId: "c-1" };
    expect(await store.claim(key, times(1_000))).toEqual({ claimed: true });
    expect(await store.claim(key, times(2_000))).toEqual({
      claimed: false,
      stored: { state: "running", leaseUntil: 31_000 },
    });
    const answer = { status: 202, body: { command: { id: "x", n: 1.5, nested: [null, "é"] } } };
    expect(await store.keep(key, answer, 601_000)).toBe(true);
    expect(await store.claim(key, times(3_000))).toEqual({
      claimed: false,
      stored: { state: "answered", answer },
    });
    expect(await store.find(key)).toEqual({ state: "answered", answer });
  });

  it("takes over a lease that ran out, a released claim, and an answer past its window", async () => {
    const key = { keyName: "ops", requestId: "c-2" };
    await store.claim(key, times(0));
    expect(await store.claim(key, times(30_001))).toEqual({ claimed: true });
    await store.release(key);
    expect(await store.claim(key, times(30_002))).toEqual({ claimed: true });
    await store.keep(key, { status: 200, body: null }, 100_000);
    expect((await store.claim(key, times(99_999))).claimed).toBe(false);
    expect(await store.claim(key, times(100_001))).toEqual({ claimed: true });
  });

  it("keeps the ids of different apps apart", async () => {
    expect(await store.claim({ keyName: "a", requestId: "same" }, times(0))).toEqual({ claimed: true });
    expect(await store.claim({ keyName: "b", requestId: "same" }, times(0))).toEqual({ claimed: true });
  });

  it("refuses to keep an answer larger than an item may be, without throwing", async () => {
    const key = { keyName: "ops", requestId: "c-3" };
    await store.claim(key, times(0));
    expect(await store.keep(key, { status: 200, body: "x".repeat(420 * 1024) }, 600_000)).toBe(false);
    expect(await store.find(key)).toEqual({ state: "running", leaseUntil: 30_000 });
  });
});
