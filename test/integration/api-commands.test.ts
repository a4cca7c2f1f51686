import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createAwsDeps } from "../../functions/adapters/aws-deps.ts";
import { PAGED_ROUTES, routeCursor } from "../../functions/api/route-cursor.ts";
import type { ApiDeps } from "../../functions/api/types.ts";
import type { CommandQueue } from "../../functions/core/commands/ports.ts";
import { API_KEY, type ApiAnswer, SECOND_API_KEY, startApi } from "../support/api-server.ts";
import { createTestResources, silentLogger, type TestResources } from "../support/resources.ts";

let env: TestResources;
let api: Awaited<ReturnType<typeof startApi>>;
/** Every message the app asked the commands queue to take, whatever SQS deduplicated afterwards. */
const enqueued: Array<{ sn: string; id: string; dedupeId: string }> = [];

beforeAll(async () => {
  env = await createTestResources();
  const queue: CommandQueue = {
    enqueue: async (messages) => {
      enqueued.push(...messages);
      await env.deps.queue.enqueue(messages);
    },
  };
  api = await startApi({ ...env.deps, queue });
});
afterAll(async () => {
  await api.stop();
  env.destroy();
});

/** `{ a: { a: … 1 } }` with `levels` objects, the outermost included. */
const nested = (levels: number): Record<string, unknown> =>
  levels <= 1 ? { a: 1 } : { a: nested(levels - 1) };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const commands = (sn: string) => `/v1/devices/${sn}/commands`;
const post = (sn: string, body: unknown, key?: string | null) =>
  api.request("POST", commands(sn), { body, ...(key !== undefined ? { key } : {}) });
const get = (path: string, key?: string | null) => api.request("GET", path, key !== undefined ? { key } : {});

/** Takes (and deletes) every message now on the commands FIFO queue. */
async function drainCommandQueue(): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const { Messages = [] } = await env.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: env.commandsQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return out;
    out.push(...Messages);
    await env.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: env.commandsQueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

async function eventsOf(sn: string) {
  return (await env.drainEvents()).filter((event) => event.sn === sn);
}

function expectProblem(answer: ApiAnswer, status: number, field?: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(answer.body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  if (field !== undefined) expect(answer.body.field).toBe(field);
}

/** Creates commands one after the other (so their creation order is defined) and returns their ids. */
async function createMany(sn: string, ids: string[]): Promise<void> {
  for (const id of ids) expect((await post(sn, { id, op: "noop" })).status).toBe(202);
}

/** Follows cursors to the end; returns the ids in the order they came and how many pages it took. */
async function listAll(path: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const answer = await get(cursor ? `${path}${separator}cursor=${encodeURIComponent(cursor)}` : path);
    expect(answer.status).toBe(200);
    const items = answer.body.items as Array<{ id: string }>;
    ids.push(...items.map((item) => item.id));
    cursor = answer.body.cursor as string | undefined;
    pages++;
    expect(pages).toBeLessThan(20);
  } while (cursor);
  return { ids, pages };
}

describe("POST /v1/devices/{sn}/commands", () => {
  it("stores the command as queued, puts one message on the FIFO queue and announces the status", async () => {
    const sn = "SN-API-1";
    await drainCommandQueue();
    await env.drainEvents();
    const answer = await post(sn, { id: "c-1", op: "sync_user", data: { user_id: "1001" }, ttlSeconds: 60 });

    expect(answer.status).toBe(202);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    expect(answer.headers.get("location")).toBe(`/v1/devices/${sn}/commands/c-1`);
    const command = answer.body.command as Record<string, unknown>;
    expect(command).toEqual({
      id: "c-1",
      sn,
      op: "sync_user",
      data: { user_id: "1001" },
      status: "queued",
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      ttlSeconds: 60,
      expiresAt: expect.any(String),
    });
    expect(Date.parse(command.expiresAt as string) - Date.parse(command.createdAt as string)).toBe(60_000);

    const messages = await drainCommandQueue();
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]?.Body ?? "")).toEqual({ sn, id: "c-1" });
    expect(messages[0]?.Attributes).toMatchObject({
      MessageGroupId: sn,
      MessageDeduplicationId: `${sn}/c-1`,
    });

    const events = await eventsOf(sn);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "command_status",
      sn,
      data: { id: "c-1", op: "sync_user", status: "queued" },
    });
  });

  it("stores data at DynamoDB's limits: 31 levels deep, numbers from 1E-130 to 2^53", async () => {
    const data = { deep: nested(30), tiny: 1e-130, big: Number.MAX_SAFE_INTEGER, tinyNegative: -1.5e-130 };
    const answer = await post("SN-API-EDGE", { id: "edge-1", op: "x", data });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const read = await get(`${commands("SN-API-EDGE")}/edge-1`);
    expect((read.body.command as { data: unknown }).data).toEqual(data);
    await eventsOf("SN-API-EDGE");
    await env.takeCommandMessages("SN-API-EDGE");
  });

  it("generates a UUID when the client gives no id", async () => {
    const sn = "SN-API-2";
    const answer = await post(sn, { op: "reboot" });
    expect(answer.status).toBe(202);
    const command = answer.body.command as { id: string; data: unknown; ttlSeconds?: number };
    expect(command.id).toMatch(UUID);
    expect(command.data).toEqual({});
    expect(command).not.toHaveProperty("ttlSeconds");
    expect(command).not.toHaveProperty("expiresAt");
    expect(answer.headers.get("location")).toBe(`/v1/devices/${sn}/commands/${command.id}`);
    const read = await get(answer.headers.get("location") ?? "");
    expect(read.status).toBe(200);
    expect(read.body.command).toEqual(answer.body.command);
  });

  it("answers a repeat with the same id and body with the same command, without queueing it again", async () => {
    const sn = "SN-API-3";
    await drainCommandQueue();
    await env.drainEvents();
    const first = await post(sn, { id: "same", op: "set", data: { a: 1, b: { x: 1, y: [1, 2] } } });
    const again = await post(sn, { data: { b: { y: [1, 2], x: 1 }, a: 1 }, op: "set", id: "same" });

    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.command).toEqual(first.body.command);
    expect(again.headers.get("location")).toBe(first.headers.get("location"));
    expect(enqueued.filter((m) => m.sn === sn)).toHaveLength(1);
    expect(await drainCommandQueue()).toHaveLength(1);
    expect(await eventsOf(sn)).toHaveLength(1);
  });

  it("answers 409 when the id was used with another body, and keeps the first command", async () => {
    const sn = "SN-API-4";
    expect((await post(sn, { id: "dup", op: "set", data: { a: 1 } })).status).toBe(202);
    for (const other of [
      { id: "dup", op: "set", data: { a: 2 } },
      { id: "dup", op: "reset", data: { a: 1 } },
      { id: "dup", op: "set", data: { a: 1 }, ttlSeconds: 30 },
    ]) {
      const conflict = await post(sn, other);
      expectProblem(conflict, 409, "id");
      expect(conflict.body.detail).toContain("dup");
    }
    const stored = await get(`${commands(sn)}/dup`);
    expect(stored.body.command).toMatchObject({ op: "set", data: { a: 1 } });
    expect(enqueued.filter((m) => m.sn === sn)).toHaveLength(1);
  });

  describe("rejects bad input with a problem naming the field, storing nothing", () => {
    const cases: Array<{ name: string; sn?: string; body: unknown; status: number; field: string }> = [
      { name: "an sn with an encoded slash", sn: "a%2Fb", body: { op: "x" }, status: 400, field: "sn" },
      { name: "an sn with a plus", sn: "x+y", body: { op: "x" }, status: 400, field: "sn" },
      { name: "an sn with a hash", sn: "x%23y", body: { op: "x" }, status: 400, field: "sn" },
      { name: "an sn that is too long", sn: "s".repeat(65), body: { op: "x" }, status: 400, field: "sn" },
      { name: "a body that is not JSON", body: "{op: x", status: 400, field: "body" },
      { name: "an empty body", body: "", status: 400, field: "body" },
      { name: "a JSON array", body: [{ op: "x" }], status: 400, field: "body" },
      { name: "JSON null", body: "null", status: 400, field: "body" },
      { name: "a missing op", body: { data: {} }, status: 422, field: "op" },
      { name: "an op with a slash", body: { op: "a/b" }, status: 422, field: "op" },
      { name: "a ttlSeconds of 0", body: { op: "x", ttlSeconds: 0 }, status: 422, field: "ttlSeconds" },
      { name: "a ttlSeconds of 1.5", body: { op: "x", ttlSeconds: 1.5 }, status: 422, field: "ttlSeconds" },
      {
        name: 'a ttlSeconds of "10"',
        body: { op: "x", ttlSeconds: "10" },
        status: 422,
        field: "ttlSeconds",
      },
      { name: "data that is not an object", body: { op: "x", data: [1] }, status: 422, field: "data" },
      { name: "an id with a space", body: { op: "x", id: "a b" }, status: 422, field: "id" },
      { name: "an unknown field", body: { op: "x", colour: "red" }, status: 422, field: "colour" },
      { name: "a field with an empty name", body: { op: "x", "": 1 }, status: 422, field: "body" },
      // Values DynamoDB refuses: answered 503 (retried forever) until data was checked against its limits.
      { name: "a number below 1E-130", body: { op: "x", data: { a: 1e-200 } }, status: 422, field: "data.a" },
      {
        name: "a negative tiny number",
        body: { op: "x", data: { a: [-1e-131] } },
        status: 422,
        field: "data.a.0",
      },
      {
        name: "a number above 2^53",
        body: { op: "x", data: { a: { b: 1e300 } } },
        status: 422,
        field: "data.a.b",
      },
      { name: "an empty key", body: { op: "x", data: { "": 1 } }, status: 422, field: "data" },
      { name: "an empty key below", body: { op: "x", data: { a: { "": 1 } } }, status: 422, field: "data.a" },
      { name: "a lone surrogate", body: { op: "x", data: { a: "u\uD800" } }, status: 422, field: "data.a" },
      {
        name: "a key with a lone surrogate",
        body: { op: "x", data: { "k\uDC00": 1 } },
        status: 422,
        // The field is named with U+FFFD in place of the lone surrogate, so the answer itself is valid text.
        field: "data.k\uFFFD",
      },
      {
        name: "data nested 32 levels",
        body: { op: "x", data: nested(32) },
        status: 422,
        field: `data${".a".repeat(31)}`,
      },
    ];
    it.each(cases)("$name → $status $field", async ({ sn = "SN-API-BAD", body, status, field }) => {
      const answer = await post(sn, body);
      expectProblem(answer, status, field);
      expect(answer.body.detail).toContain(field);
    });

    it("names a key longer than DynamoDB allows (70,000 characters) by its start", async () => {
      const key = "k".repeat(70_000);
      const answer = await post("SN-API-BAD", { op: "x", data: { [key]: 1 } });
      expectProblem(answer, 422);
      expect(answer.body.field).toBe(`data.${"k".repeat(16)}…`);
    });

    it("names an unknown field in the message, not valibot's 'never'", async () => {
      const answer = await post("SN-API-BAD", { op: "x", priority: 1 });
      expect(answer.body.detail).toContain("priority");
      expect(answer.body.detail).not.toContain("never");
    });

    it("says a missing op is required", async () => {
      expect((await post("SN-API-BAD", {})).body.detail).toBe("op: is required");
    });

    it("refuses a body larger than a command may be with 413", async () => {
      expectProblem(await post("SN-API-BAD", { op: "x", data: { blob: "x".repeat(300_000) } }), 413, "body");
    });

    // The body's validator reads only JSON media types (any other body would read as {}): 415, never 422 "op".
    it.each([
      ["text/plain", "text/plain"],
      ["fetch's default for a string (text/plain;charset=UTF-8)", undefined],
    ])("refuses a JSON body sent as %s with 415 naming content-type", async (_name, type) => {
      const response = await fetch(`${api.url}${commands("SN-API-BAD")}`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, ...(type ? { "content-type": type } : {}) },
        body: JSON.stringify({ op: "x" }),
      });
      expect(response.status).toBe(415);
      expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(await response.json()).toMatchObject({ type: "unsupported_media_type", field: "content-type" });
    });

    it("takes application/json with a charset", async () => {
      const response = await fetch(`${api.url}${commands("SN-API-CHARSET")}`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify({ op: "x" }),
      });
      expect(response.status).toBe(202);
    });

    it("refuses a streamed body of unknown length as soon as it passes the limit, without reading it all", async () => {
      let sent = 0;
      const chunk = new Uint8Array(64 * 1024).fill(0x20);
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += chunk.byteLength;
          if (sent > 64 * 1024 * 1024) controller.close();
          else controller.enqueue(chunk);
        },
      });
      const response = await fetch(`${api.url}${commands("SN-API-BAD")}`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: endless,
        duplex: "half",
      } as RequestInit);
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ field: "body" });
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    });

    it("stored and queued none of them", async () => {
      expect((await get(commands("SN-API-BAD"))).body.items).toEqual([]);
      expect(enqueued.filter((m) => m.sn === "SN-API-BAD")).toEqual([]);
    });
  });
});

describe("authentication", () => {
  it("answers 401 without a key, with a wrong key and with a malformed header", async () => {
    for (const key of [null, "wrong-key-0123456789abcdef", ""]) {
      const answer = await post("SN-API-AUTH", { op: "x" }, key);
      expectProblem(answer, 401);
      expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expectProblem(await get(commands("SN-API-AUTH"), key), 401);
      expectProblem(await get(`${commands("SN-API-AUTH")}/anything`, key), 401);
    }
    const unauthenticatedRoute = await get("/nope", null);
    expectProblem(unauthenticatedRoute, 401);
    expect(enqueued.filter((m) => m.sn === "SN-API-AUTH")).toEqual([]);
  });

  it("accepts every configured key, so a key can be rotated", async () => {
    expect((await post("SN-API-AUTH", { op: "x" }, SECOND_API_KEY)).status).toBe(202);
    expect((await get(commands("SN-API-AUTH"), SECOND_API_KEY)).status).toBe(200);
  });
});

describe("GET /v1/devices/{sn}/commands/{id}", () => {
  it("returns the command's public view", async () => {
    const sn = "SN-API-GET";
    const created = await post(sn, { id: "g-1", op: "sync_user", data: { k: "v" } });
    const read = await get(`${commands(sn)}/g-1`);
    expect(read.status).toBe(200);
    expect(read.body.command).toEqual(created.body.command);
    for (const hidden of ["requestHash", "enqueuedAt", "announcedStatus", "pk", "gsi1pk", "statusRank"]) {
      expect(read.body.command).not.toHaveProperty(hidden);
    }
  });

  it("answers 404 for an unknown id, and for a known id under another device", async () => {
    expectProblem(await get(`${commands("SN-API-GET")}/unknown`), 404);
    expectProblem(await get(`${commands("SN-API-OTHER")}/g-1`), 404);
  });

  it("answers 400 for a malformed id or sn", async () => {
    expectProblem(await get(`${commands("SN-API-GET")}/a%20b`), 400, "id");
    expectProblem(await get(`${commands("x+y")}/g-1`), 400, "sn");
  });

  it("answers 404 problem for an unknown route", async () => {
    expectProblem(await get("/v1/nothing-here"), 404);
    expectProblem(await api.request("DELETE", `${commands("SN-API-GET")}/g-1`), 404);
  });
});

describe("GET /v1/devices/{sn}/commands", () => {
  it("lists a device's commands in one status oldest first", async () => {
    const sn = "SN-API-LIST";
    // Ids in reverse alphabetical order: the answer must follow creation time, not the id.
    await createMany(sn, ["z", "m", "a"]);
    const answer = await get(`${commands(sn)}?status=queued`);
    expect(answer.status).toBe(200);
    expect((answer.body.items as Array<{ id: string }>).map((c) => c.id)).toEqual(["z", "m", "a"]);
    expect(answer.body).not.toHaveProperty("cursor");
    for (const item of answer.body.items as object[]) expect(item).not.toHaveProperty("requestHash");
    expect((await get(`${commands(sn)}?status=acked`)).body).toEqual({ items: [] });
  });

  it("lists all of a device's commands without a status, and only that device's", async () => {
    const all = await get(commands("SN-API-LIST"));
    expect(all.status).toBe(200);
    expect((all.body.items as Array<{ id: string }>).map((c) => c.id).sort()).toEqual(["a", "m", "z"]);
    expect((await get(commands("SN-API-EMPTY"))).body).toEqual({ items: [] });
  });

  it("pages through 5 commands 2 at a time, each exactly once", async () => {
    const sn = "SN-API-PAGE";
    const ids = ["p5", "p4", "p3", "p2", "p1"];
    await createMany(sn, ids);
    const byStatus = await listAll(`${commands(sn)}?status=queued&limit=2`);
    expect(byStatus.ids).toEqual(ids);
    expect(byStatus.pages).toBe(3);
    const byDevice = await listAll(`${commands(sn)}?limit=2`);
    expect(byDevice.ids.slice().sort()).toEqual(ids.slice().sort());
    expect(new Set(byDevice.ids).size).toBe(5);
  });

  it("validates status and limit", async () => {
    const sn = "SN-API-PAGE";
    expectProblem(await get(`${commands(sn)}?status=done`), 400, "status");
    expectProblem(await get(`${commands(sn)}?status=`), 400, "status");
    for (const limit of ["0", "101", "-1", "1.5", "abc", "", "99999"]) {
      expectProblem(await get(`${commands(sn)}?limit=${limit}`), 400, "limit");
    }
    expect((await get(`${commands(sn)}?limit=100`)).status).toBe(200);
    expect((await get(`${commands(sn)}?limit=1`)).body.items).toHaveLength(1);
    expectProblem(await get(`${commands("a%2Fb")}`), 400, "sn");
  });

  it("answers 400 naming cursor for a forged or foreign cursor, never 500", async () => {
    const sn = "SN-API-PAGE";
    const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const otherDevice = await get(`${commands("SN-API-LIST")}?status=queued&limit=1`);
    const otherDeviceAll = await get(`${commands("SN-API-LIST")}?limit=1`);
    const sameDeviceByStatus = await get(`${commands(sn)}?status=queued&limit=1`);
    const sameDeviceAll = await get(`${commands(sn)}?limit=1`);
    for (const page of [otherDevice, otherDeviceAll, sameDeviceByStatus, sameDeviceAll]) {
      expect(page.body.cursor).toEqual(expect.any(String));
    }
    // Made up with this route's tag, so the store's checks are what refuse them (bare, the tag would).
    const tagged = (storeCursor: string) => routeCursor(PAGED_ROUTES.commands, storeCursor) as string;
    const forged: Array<[string, string]> = [
      ["random bytes", tagged(Buffer.from("not a cursor at all \u0000\u00ff").toString("base64url"))],
      ["not base64 JSON", tagged("%%%")],
      ["a JSON number", tagged(base64url(42))],
      [
        "a key of the wrong partition",
        tagged(base64url({ pk: { S: "DEVICE#SN-API-LIST" }, sk: { S: "CMD#a" } })),
      ],
      ["a key with a non-string value", tagged(base64url({ pk: { N: "1" } }))],
      ["a bare key of this partition", base64url({ pk: { S: `DEVICE#${sn}` }, sk: { S: "CMD#a" } })],
      ["another device's status cursor", otherDevice.body.cursor as string],
      ["another device's listing cursor", otherDeviceAll.body.cursor as string],
    ];
    for (const [name, cursor] of forged) {
      for (const query of ["?status=queued", "?"]) {
        const answer = await get(`${commands(sn)}${query}&cursor=${encodeURIComponent(cursor)}`);
        expect({ name, query, status: answer.status }).toEqual({ name, query, status: 400 });
        expectProblem(answer, 400, "cursor");
      }
    }
    // A cursor of this device, but of another query: right partition value, wrong key shape or index.
    const crossQuery: Array<[string, string]> = [
      [`?status=sent&cursor=${sameDeviceByStatus.body.cursor}`, "status cursor on another status"],
      [`?cursor=${sameDeviceByStatus.body.cursor}`, "status cursor on the device listing"],
      [`?status=queued&cursor=${sameDeviceAll.body.cursor}`, "device cursor on a status listing"],
    ];
    for (const [query, name] of crossQuery) {
      const answer = await get(`${commands(sn)}${query}`);
      expect({ name, status: answer.status }).toEqual({ name, status: 400 });
      expectProblem(answer, 400, "cursor");
    }
  });
});

/** The real store with some methods replaced (its methods live on the prototype, so no spread). */
const withStore = (overrides: Partial<ApiDeps["commands"]>): ApiDeps["commands"] =>
  Object.assign(Object.create(env.deps.commands) as ApiDeps["commands"], overrides);

describe("failures", () => {
  it("answers 503 with Retry-After within seconds when DynamoDB is unreachable", async () => {
    const down = await startApi(createAwsDeps({ ...env.config, DYNAMODB_ENDPOINT: "http://127.0.0.1:9" }));
    // "Within seconds" without a stopwatch: the refused connection answers, not the 8 s deadline.
    try {
      for (const [method, path, body] of [
        ["POST", commands("SN-API-DOWN"), { id: "d-1", op: "x" }],
        ["GET", `${commands("SN-API-DOWN")}/d-1`, undefined],
        ["GET", `${commands("SN-API-DOWN")}?status=queued`, undefined],
        ["GET", commands("SN-API-DOWN"), undefined],
      ] as const) {
        const answer = await down.request(method, path, body ? { body } : {});
        expectProblem(answer, 503);
        expect(answer.headers.get("retry-after")).toBe("5");
        expect(answer.body.detail).toMatch(/ECONNREFUSED/);
        expect(answer.body.detail).not.toMatch(/internal deadline/);
      }
    } finally {
      await down.stop();
    }
    expect(enqueued.filter((m) => m.sn === "SN-API-DOWN")).toEqual([]);
  });

  it("answers 422, not a retry-forever 503, when DynamoDB refuses a request that passed validation", async () => {
    const deps = createAwsDeps(env.config);
    const client = (deps.commands as unknown as { client: import("@aws-sdk/client-dynamodb").DynamoDBClient })
      .client;
    // A value the schemas let through but DynamoDB refuses cannot be made on purpose; injected at the SDK.
    client.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error("One or more parameter values were invalid"), {
          name: "ValidationException",
        });
      },
      { step: "initialize", name: "refuse" },
    );
    const logger = silentLogger();
    const logged = vi.spyOn(logger, "error");
    const refusing = await startApi(deps, { logger });
    try {
      const answer = await refusing.request("POST", commands("SN-API-REFUSED"), { body: { op: "x" } });
      expectProblem(answer, 422, "body");
      expect(answer.body.type).toBe("refused_by_store");
      expect(logged).toHaveBeenCalled();
    } finally {
      await refusing.stop();
    }
  });

  it("answers 503 before its deadline when the store hangs", async () => {
    const hanging = {
      ...env.deps,
      commands: withStore({ get: () => new Promise(() => {}) }),
    };
    const slow = await startApi(hanging, { deadlineMs: 300 });
    try {
      const answer = await slow.request("GET", `${commands("SN-API-SLOW")}/x`);
      expectProblem(answer, 503);
      // The store never answers, so only the deadline can: the detail says it was the 300 ms one.
      expect(answer.body.detail).toMatch(/within the 300 ms internal deadline/);
    } finally {
      await slow.stop();
    }
  });

  it("answers 503, not 500, to a bug, and logs it as an error", async () => {
    const logger = silentLogger();
    const logged = vi.spyOn(logger, "error");
    const buggy = {
      ...env.deps,
      commands: withStore({
        get: async () => {
          throw new TypeError("cannot read properties of undefined");
        },
        listByDevice: () => {
          throw new Error("synchronous bug");
        },
      }),
    };
    const broken = await startApi(buggy, { logger });
    try {
      const answer = await broken.request("GET", `${commands("SN-API-BUG")}/x`);
      expectProblem(answer, 503);
      expect(answer.headers.get("retry-after")).toBe("5");
      expect(answer.body.detail).not.toContain("cannot read");
      expectProblem(await broken.request("GET", commands("SN-API-BUG")), 503);
      expect(logged).toHaveBeenCalledTimes(2);
    } finally {
      await broken.stop();
    }
  });
});
