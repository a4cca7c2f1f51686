import { expect } from "vitest";
import { DynamoDbApiKeyStore } from "../../functions/adapters/dynamodb/api-key-store.ts";
import { DynamoDbReaders } from "../../functions/adapters/dynamodb/readers.ts";
import { type ApiKeyStore, newApiKey, type Scope } from "../../functions/core/api-keys.ts";
import { createCommand } from "../../functions/core/commands/create-command.ts";
import type { FanoutMessage } from "../../functions/core/fanout.ts";
import { type ApiAnswer, startApi } from "./api-server.ts";
import { connectedBody, disconnectedBody, publishBody } from "./emqx-bodies.ts";
import { startIngest } from "./ingest-server.ts";
import type { TestResources } from "./resources.ts";

export type Api = Awaited<ReturnType<typeof startApi>>;

/** An RFC 9457 answer: status, content type, the four members, and the field when one is named. */
export function expectProblem(answer: ApiAnswer, status: number, field?: string) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(answer.body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  expect(String(answer.body.type).length).toBeGreaterThan(0);
  expect(String(answer.body.detail).length).toBeGreaterThan(0);
  if (field !== undefined) expect(answer.body.field).toBe(field);
}

/** Real keys, stored hashed in the table the way an operator creates them. */
export async function createKeys(env: TestResources) {
  const store = new DynamoDbApiKeyStore(env.dynamodb, env.tableName);
  const make = async (name: string, scopes: Scope[]) => {
    const { key, record } = newApiKey(name, scopes);
    await store.put(record);
    return key;
  };
  return {
    store,
    read: await make("dashboard", ["read"]),
    commands: await make("dispatcher", ["commands"]),
    readAndCommands: await make("app", ["read", "commands"]),
    admin: await make("ops", ["admin"]),
    /** A second admin key: several keys are active at once. */
    otherAdmin: await make("ops-rotated", ["admin"]),
    /** Revoked by the auth tests. */
    doomed: await make("leaked", ["admin"]),
  };
}
export type Keys = Awaited<ReturnType<typeof createKeys>>;

/** The operations API over a real socket, on the test table, with the given key store. */
export function startOpsApi(env: TestResources, keys: ApiKeyStore) {
  return startApi({ ...env.deps, keys, reader: new DynamoDbReaders(env.dynamodb, env.tableName) });
}

/** A cursor a client made up: any JSON, base64url-encoded the way the API encodes its own. */
export const forgeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Appends query parameters (encoded, so `+` in an offset survives). */
export function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = Object.entries(query)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`);
  return params.length ? `${path}${path.includes("?") ? "&" : "?"}${params.join("&")}` : path;
}

/** Follows cursors to the end; every page must be a 200. */
export async function collectPages<T>(
  api: Api,
  key: string,
  path: string,
  maxPages = 50,
): Promise<{ items: T[]; pages: Array<{ items: T[]; cursor?: string }> }> {
  const pages: Array<{ items: T[]; cursor?: string }> = [];
  let cursor: string | undefined;
  do {
    const answer = await api.request("GET", withQuery(path, { cursor }), { key });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const page = answer.body as { items: T[]; cursor?: string };
    pages.push(page);
    cursor = page.cursor;
    expect(pages.length).toBeLessThanOrEqual(maxPages);
  } while (cursor);
  return { items: pages.flatMap((p) => p.items), pages };
}

// --- The seeded fleet --------------------------------------------------------------------------

/** Broker times of the presence signals (epoch ms). */
export const T0 = Date.UTC(2026, 10, 22, 6, 0, 0);
export const iso = (ms: number) => new Date(ms).toISOString();

export const SN = {
  /** Online (connected), five punches, three commands of which two pending. */
  A: "SN-OPS-A",
  /** Offline (keepalive timeout), three punches. */
  B: "SN-OPS-B",
  /** Online, no punches. */
  C: "SN-OPS-C",
  /** Online through an st message only. */
  D: "SN-OPS-D",
  /** Offline (tcp_closed), one punch. */
  E: "SN-OPS-E",
  /** Never seen by the broker; has one pending command. */
  X: "SN-OPS-X",
} as const;

export interface Punch {
  sn: string;
  user_id: string;
  att_time: string;
  att_state: number;
  /** What `normalizeAttTime` makes of att_time: the sort key. */
  normalized: string;
  extra: Record<string, unknown>;
}

const punch = (
  sn: string,
  user_id: string,
  att_time: string,
  att_state: number,
  normalized: string,
  extra: Record<string, unknown> = {},
): Punch => ({ sn, user_id, att_time, att_state, normalized, extra });

export const PUNCHES = {
  a1: punch(SN.A, "1001", "2026-11-21 09:00:00", 0, "2026-11-21T09:00:00.000", { verify_mode: "fp" }),
  a2: punch(SN.A, "1001", "2026-11-22 08:00:00", 0, "2026-11-22T08:00:00.000", { verify_mode: "fp" }),
  a3: punch(SN.A, "1002", "2026-11-22T08:30:00+08:00", 0, "2026-11-22T00:30:00.000Z", {
    verify_mode: "face",
    temperature: 36.5,
    photo: { id: "p-1", bytes: 2048 },
    tags: ["gate", "north"],
  }),
  a4: punch(SN.A, "1001", "2026-11-22 17:30:00", 1, "2026-11-22T17:30:00.000"),
  a5: punch(SN.A, "1003", "2026-11-23 08:00:00", 0, "2026-11-23T08:00:00.000"),
  b1: punch(SN.B, "1001", "2026-11-22 09:15:00", 0, "2026-11-22T09:15:00.000", { door: 2 }),
  b2: punch(SN.B, "1001", "2026-11-23 18:00:00", 1, "2026-11-23T18:00:00.000"),
  b3: punch(SN.B, "1004", "2026-11-20 07:00:00", 0, "2026-11-20T07:00:00.000"),
  e1: punch(SN.E, "1002", "2026-11-22 12:00:00", 0, "2026-11-22T12:00:00.000"),
} as const;
export type PunchName = keyof typeof PUNCHES;

const record = (p: Punch) => ({
  user_id: p.user_id,
  att_time: p.att_time,
  att_state: p.att_state,
  ...p.extra,
});

/**
 * Stores the fleet through the real ingest (EMQX rule events over a socket) and the command path:
 * presence for A-E, punches on A, B and E on several days and for several users, three rejected
 * messages in the quarantine, and commands on A (two pending) and X (one pending).
 * Returns the first fan-out of every punch, by eventId, and the quarantine ids.
 */
export async function seedFleet(env: TestResources) {
  const ingest = await startIngest(env.deps);
  try {
    const ok = async (body: unknown) => {
      const answer = await ingest.post(body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer;
    };
    // Presence.
    await ok(connectedBody(SN.A, T0));
    await ok(connectedBody(SN.B, T0));
    await ok(disconnectedBody(SN.B, T0, T0 + 60_000, "keepalive_timeout"));
    await ok(connectedBody(SN.C, T0 + 1_000));
    await ok(publishBody(`api/mqtt/v1/${SN.D}/st`, '{"online":true}', { publish_received_at: T0 + 2_000 }));
    await ok(connectedBody(SN.E, T0));
    await ok(disconnectedBody(SN.E, T0, T0 + 5_000, "tcp_closed"));

    // Attendance: a backlog out of time order, then single punches (a5 before a4).
    const evt = (sn: string, payload: unknown) =>
      publishBody(`api/mqtt/v1/${sn}/evt`, JSON.stringify(payload));
    const { a1, a2, a3, a4, a5, b1, b2, b3, e1 } = PUNCHES;
    await ok(evt(SN.A, [record(a2), record(a3), record(a1)]));
    await ok(evt(SN.A, record(a5)));
    await ok(evt(SN.A, record(a4)));
    await ok(evt(SN.B, [record(b2), record(b1), record(b3)]));
    await ok(evt(SN.E, record(e1)));

    // The quarantine: a body that is not JSON, a punch with an impossible date, a bad record in a backlog.
    const daysBefore = new Date().toISOString().slice(0, 10);
    const notJson = await ingest.post("{this is not json");
    expect(notJson.status).toBe(400);
    const badDate = await ingest.post(
      evt(SN.B, { user_id: "1001", att_time: "2026-02-30 08:00:00", att_state: 0 }),
    );
    expect(badDate.status).toBe(422);
    const badRecord = await ingest.post(
      evt(SN.E, [record(e1), { user_id: "1002", att_time: "2026-11-22 12:05:00", att_state: "in" }]),
    );
    expect(badRecord.status).toBe(422);
    const daysAfter = new Date().toISOString().slice(0, 10);
    const quarantined = {
      notJson: { id: String(notJson.body.quarantineId), raw: "{this is not json", field: "body" },
      badDate: { id: String(badDate.body.quarantineId), field: "payload.att_time" },
      badRecord: { id: String(badRecord.body.quarantineId), field: "payload[1].att_state" },
      days: [...new Set([daysBefore, daysAfter])],
    };

    // Commands: three on A, two of them moved to pending; one pending on X, which the broker never saw.
    for (const id of ["cmd-a1", "cmd-a2", "cmd-a3"]) await createCommand(env.deps, SN.A, { id, op: "noop" });
    await createCommand(env.deps, SN.X, { id: "cmd-x1", op: "noop" });
    const at = new Date().toISOString();
    for (const [sn, id] of [
      [SN.A, "cmd-a1"],
      [SN.A, "cmd-a3"],
      [SN.X, "cmd-x1"],
    ] as const) {
      expect(await env.deps.commands.transition(sn, id, "pending", at)).toBeDefined();
    }

    const events = await env.drainEvents();
    const firstFanout = new Map<string, FanoutMessage>();
    for (const event of events.filter((e) => e.type === "attendance")) {
      expect(firstFanout.has(event.eventId)).toBe(false);
      firstFanout.set(event.eventId, event);
    }
    expect(firstFanout.size).toBe(Object.keys(PUNCHES).length);
    /** eventId of a seeded punch, read from its first fan-out. */
    const eventIds = Object.fromEntries(
      Object.entries(PUNCHES).map(([name, p]) => {
        const event = [...firstFanout.values()].find(
          (e) => e.sn === p.sn && e.data.user_id === p.user_id && e.at === p.normalized,
        );
        expect(event, name).toBeDefined();
        return [name, event?.eventId as string];
      }),
    ) as Record<PunchName, string>;
    return { firstFanout, eventIds, quarantined };
  } finally {
    await ingest.stop();
  }
}
export type Fleet = Awaited<ReturnType<typeof seedFleet>>;
