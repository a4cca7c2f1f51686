import { CURSOR_ROUTES, type CursorRoute } from "./other-families.ts";
import { validRecord } from "./payloads.ts";
import { send } from "./send.ts";
import type { FuzzTargets } from "./targets.ts";

/**
 * Gives every listing at least two entries, then collects one real cursor per listing (and one from a
 * replay), so the fuzz can hand each route another route's cursor.
 */
export async function seedCursors(targets: FuzzTargets): Promise<Record<CursorRoute, string>> {
  const device = (sn: string, channel: string, body: string) =>
    post(targets.ingestUrl, `/v1/devices/${sn}/${channel}`, targets.secrets.device(sn), body);
  for (const [sn, count] of [
    ["SEED1", 3],
    ["SEED2", 2],
  ] as const) {
    await device(sn, "st", '{"online":true}');
    for (let i = 0; i < count; i++)
      await device(sn, "evt", JSON.stringify({ ...validRecord(i), user_id: "seeduser" }));
  }
  for (let i = 0; i < 2; i++) {
    await device("SEED1", "evt", "not json");
    await post(
      targets.apiUrl,
      "/v1/devices/SEED1/commands",
      targets.secrets.api,
      JSON.stringify({ op: "ping" }),
    );
  }
  const cursors: Partial<Record<CursorRoute, string>> = {};
  for (const [route, path] of Object.entries(CURSOR_ROUTES)) {
    const answer = await send({
      method: "GET",
      url: `${targets.apiUrl}${path}`,
      headers: { authorization: `Bearer ${targets.secrets.api}` },
    });
    cursors[route as CursorRoute] = cursorOf(route, answer.text);
  }
  const replay = await post(
    targets.apiUrl,
    "/v1/replay",
    targets.secrets.api,
    JSON.stringify({ from: "2026-11-01", to: "2026-11-30", pageSize: 1 }),
  );
  cursors.replay = cursorOf("replay", replay);
  return cursors as Record<CursorRoute, string>;
}

async function post(base: string, path: string, token: string, body: string): Promise<string> {
  const answer = await send({
    method: "POST",
    url: `${base}${path}`,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body,
  });
  return answer.text;
}

function cursorOf(route: string, text: string): string {
  const cursor = (JSON.parse(text) as { cursor?: unknown }).cursor;
  if (typeof cursor !== "string")
    throw new Error(`seeding: ${route} returned no cursor: ${text.slice(0, 200)}`);
  return cursor;
}
